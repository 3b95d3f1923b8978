import type { Knex } from 'knex';
import { toDate } from '../db/values.ts';

export interface StoredSession {
  data: string;
  expiresAt: Date;
}

export class SessionRepo {
  constructor(private readonly knex: Knex) {}

  async get(sid: string): Promise<StoredSession | undefined> {
    const row = (await this.knex('sessions').select('data', 'expires_at').where({ sid }).first()) as
      | { data: string; expires_at: unknown }
      | undefined;
    return row && { data: row.data, expiresAt: toDate(row.expires_at) };
  }

  async set(sid: string, userId: number | null, data: string, expiresAt: Date): Promise<void> {
    await this.knex('sessions')
      .insert({ sid, user_id: userId, data, expires_at: expiresAt })
      .onConflict('sid')
      .merge(['user_id', 'data', 'expires_at']);
  }

  async touch(sid: string, expiresAt: Date): Promise<void> {
    await this.knex('sessions').where({ sid }).update({ expires_at: expiresAt });
  }

  async destroy(sid: string): Promise<void> {
    await this.knex('sessions').where({ sid }).delete();
  }

  async destroyForUser(userId: number): Promise<number> {
    return this.knex('sessions').where({ user_id: userId }).delete();
  }

  async purgeExpired(now: Date): Promise<number> {
    return this.knex('sessions').where('expires_at', '<', now).delete();
  }
}
