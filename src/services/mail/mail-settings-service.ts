import { AppError } from '../../domain/errors.ts';
import { isEmailAddress, MAIL_SECURITIES, type MailSecurity, type MailServer, type MailSettings } from '../../domain/mail.ts';
import type { Actor } from '../../domain/user.ts';
import type { MailSettingsRepo, StoredMailSettings } from '../../repositories/mail-settings-repo.ts';
import type { AuditLog } from '../audit-log.ts';
import type { SecretBox } from '../secret-box.ts';

/** What an administrator sets. `password` undefined: keep the stored one if host and user are unchanged. */
export interface MailSettingsInput {
  host: string;
  port: number;
  security: string;
  username?: string | null | undefined;
  password?: string | null | undefined;
  fromAddress: string;
  fromName?: string | null | undefined;
  skipVerify?: boolean | undefined;
}

// The SecretBox context of the one sealed value, so the ciphertext opens nowhere else.
const PASSWORD_CONTEXT = 'smtp-password';
const MAX_PASSWORD = 1024;
const CONTROL = /[\x00-\x1f\x7f]/;

const bad = (message: string) => AppError.badRequest(message);

/** Empty or absent means none; anything else must be one clean line of at most `max` characters. */
function optionalLine(value: string | null | undefined, what: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  const v = value.trim();
  if (v === '') return null;
  if (v.length > max) throw bad(`The ${what} must be at most ${max} characters.`);
  if (CONTROL.test(v)) throw bad(`The ${what} must be one line of text.`);
  return v;
}

function validated(input: MailSettingsInput): Omit<StoredMailSettings, 'passwordEncrypted'> {
  const host = (input.host ?? '').trim();
  if (host === '') throw bad('The SMTP host is required.');
  // A host name or an IP address: no spaces, brackets or slashes that would make it a URL.
  if (host.length > 255 || /[\s\x00-\x1f\x7f/\\@<>]/.test(host)) throw bad(`The SMTP host ${JSON.stringify(host.slice(0, 80))} is not a host name.`);
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw bad('The SMTP port must be a whole number from 1 to 65535.');
  if (!(MAIL_SECURITIES as readonly string[]).includes(input.security)) {
    throw bad(`The SMTP security must be one of ${MAIL_SECURITIES.join(', ')} (tls: implicit TLS, usually port 465; starttls: usually 587).`);
  }
  const fromAddress = (input.fromAddress ?? '').trim();
  if (!isEmailAddress(fromAddress)) throw bad(`The sender address ${JSON.stringify(fromAddress.slice(0, 80))} is not an email address (name@example.com).`);
  return {
    host,
    port: input.port,
    security: input.security as MailSecurity,
    username: optionalLine(input.username, 'SMTP user name', 255),
    fromAddress,
    fromName: optionalLine(input.fromName, 'sender name', 255),
    skipVerify: input.skipVerify ?? false,
  };
}

const visible = (s: StoredMailSettings): MailSettings => ({
  host: s.host,
  port: s.port,
  security: s.security,
  username: s.username,
  hasPassword: s.passwordEncrypted !== null,
  fromAddress: s.fromAddress,
  fromName: s.fromName,
  skipVerify: s.skipVerify,
});

/** The server's one SMTP configuration. The password is sealed at rest and never handed back. */
export class MailSettingsService {
  constructor(
    private readonly repo: MailSettingsRepo,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
  ) {}

  /** Null: email is not configured. */
  async get(): Promise<MailSettings | null> {
    const s = await this.repo.get();
    return s && visible(s);
  }

  async set(actor: Actor, input: MailSettingsInput, now: Date): Promise<MailSettings> {
    const next = validated(input);
    let passwordEncrypted: string | null;
    if (input.password !== undefined && input.password !== null && input.password !== '') {
      if (input.password.length > MAX_PASSWORD) throw bad(`The SMTP password must be at most ${MAX_PASSWORD} characters.`);
      if (!next.username) throw bad('An SMTP password needs a user name.');
      passwordEncrypted = this.box.seal(input.password, PASSWORD_CONTEXT);
    } else {
      // A password given for one server and account is never sent to another.
      const old = await this.repo.get();
      const same = old !== null && old.host === next.host && old.username === next.username && next.username !== null;
      passwordEncrypted = same && input.password === undefined ? old.passwordEncrypted : null;
    }
    const stored = { ...next, passwordEncrypted };
    await this.repo.put(stored, now);
    const settings = visible(stored);
    await this.audit.record(actor, 'email.settings', { type: 'mail_settings', id: '1' }, { ...settings });
    return settings;
  }

  /** Turns email off. */
  async clear(actor: Actor): Promise<void> {
    if (await this.repo.clear()) await this.audit.record(actor, 'email.settings', { type: 'mail_settings', id: '1' }, { disabled: true });
  }

  /** The settings with the password opened: for the mailer's connection only. */
  async server(): Promise<MailServer | null> {
    const s = await this.repo.get();
    if (!s) return null;
    const { passwordEncrypted, ...rest } = s;
    if (passwordEncrypted === null) return { ...rest, password: null };
    try {
      return { ...rest, password: this.box.open(passwordEncrypted, PASSWORD_CONTEXT) };
    } catch {
      throw new Error('The stored SMTP password cannot be decrypted (was the secret key changed?); configure email again.');
    }
  }
}
