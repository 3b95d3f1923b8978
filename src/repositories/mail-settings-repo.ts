import type { Knex } from 'knex';
import { toBool } from '../db/values.ts';
import type { MailSecurity } from '../domain/mail.ts';

/** The mail_settings row as stored: the password sealed, never in the clear. */
export interface StoredMailSettings {
  host: string;
  port: number;
  security: MailSecurity;
  username: string | null;
  passwordEncrypted: string | null;
  fromAddress: string;
  fromName: string | null;
  skipVerify: boolean;
}

interface MailSettingsRow {
  host: string;
  port: number | string;
  security: string;
  username: string | null;
  password_encrypted: string | null;
  from_address: string;
  from_name: string | null;
  skip_verify: unknown;
}

// The server has one SMTP configuration: the table holds at most this row.
const ID = 1;

export class MailSettingsRepo {
  constructor(private readonly knex: Knex) {}

  async get(): Promise<StoredMailSettings | null> {
    const r = (await this.knex('mail_settings').where({ id: ID }).first()) as MailSettingsRow | undefined;
    if (!r) return null;
    return {
      host: r.host,
      port: Number(r.port),
      security: r.security as MailSecurity,
      username: r.username,
      passwordEncrypted: r.password_encrypted,
      fromAddress: r.from_address,
      fromName: r.from_name,
      skipVerify: toBool(r.skip_verify),
    };
  }

  async put(s: StoredMailSettings, now: Date): Promise<void> {
    const row = {
      host: s.host,
      port: s.port,
      security: s.security,
      username: s.username,
      password_encrypted: s.passwordEncrypted,
      from_address: s.fromAddress,
      from_name: s.fromName,
      skip_verify: s.skipVerify,
      updated_time: now,
    };
    await this.knex('mail_settings')
      .insert({ id: ID, ...row })
      .onConflict('id')
      .merge(Object.keys(row));
  }

  /** True when there was a row to remove. */
  async clear(): Promise<boolean> {
    return (await this.knex('mail_settings').where({ id: ID }).delete()) > 0;
  }
}
