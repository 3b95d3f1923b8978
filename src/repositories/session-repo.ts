import type { Knex } from 'knex';
import { toDate } from '../db/values.ts';

export interface StoredSession {
  data: string;
  expiresAt: Date;
}

export class SessionRepo {
  constructor(private readonly knex: Knex) {}

  async get(sid: string): Promise<StoredSession | undefined> {
    const row = (await this.knex('sessions').select('data', 'expires_at').where({ sid }).first()) as { data: string; expires_at: unknown } | undefined;
    return row && { data: row.data, expiresAt: toDate(row.expires_at) };
  }

  async set(sid: string, userId: number | null, data: string, expiresAt: Date): Promise<void> {
    await this.knex('sessions').insert({ sid, user_id: userId, data, expires_at: expiresAt }).onConflict('sid').merge(['user_id', 'data', 'expires_at']);
  }

  async touch(sid: string, expiresAt: Date): Promise<void> {
    await this.knex('sessions').where({ sid }).update({ expires_at: expiresAt });
  }

  /** How many rows it removed (0 or 1): who removed a row is its one taker. */
  async destroy(sid: string): Promise<number> {
    return this.knex('sessions').where({ sid }).delete();
  }

  /** Ends every session of a user, but for `exceptSid` (the one that asked, when it stays). */
  async destroyForUser(userId: number, exceptSid?: string): Promise<number> {
    return this.knex('sessions')
      .where({ user_id: userId })
      .modify((q) => {
        if (exceptSid !== undefined) q.whereNot({ sid: exceptSid });
      })
      .delete();
  }

  async purgeExpired(now: Date): Promise<number> {
    return this.knex('sessions').where('expires_at', '<', now).delete();
  }
}
