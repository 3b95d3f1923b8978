import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { toDate, toDateOrNull } from '../db/values.ts';
import type { ApiKey } from '../domain/user.ts';

interface KeyRow {
  id: number;
  guid: string;
  user_id: number;
  name: string;
  hint: string;
  created_time: unknown;
  last_used_time: unknown;
  expires_at: unknown;
  scope: string | null;
}

const COLUMNS = ['id', 'guid', 'user_id', 'name', 'hint', 'created_time', 'last_used_time', 'expires_at', 'scope'];

function toKey(r: KeyRow): ApiKey {
  return {
    id: Number(r.id),
    guid: r.guid,
    userId: Number(r.user_id),
    name: r.name,
    hint: r.hint,
    createdTime: toDate(r.created_time),
    lastUsedTime: toDateOrNull(r.last_used_time),
    expiresAt: toDateOrNull(r.expires_at),
    scope: r.scope ?? null,
  };
}

export interface NewKeyOptions {
  scope?: string | null;
  expiresAt?: Date | null;
}

export class ApiKeyRepo {
  constructor(private readonly knex: Knex) {}

  async create(userId: number, name: string, keyHash: string, hint: string, opts: NewKeyOptions = {}): Promise<ApiKey> {
    const [row] = (await this.knex('api_keys')
      .insert({
        guid: randomUUID(),
        user_id: userId,
        name,
        key_hash: keyHash,
        hint,
        created_time: new Date(),
        scope: opts.scope ?? null,
        expires_at: opts.expiresAt ?? null,
      })
      .returning(COLUMNS)) as KeyRow[];
    return toKey(row!);
  }

  async byHash(keyHash: string): Promise<ApiKey | undefined> {
    const row = (await this.knex('api_keys').select(COLUMNS).where({ key_hash: keyHash }).first()) as KeyRow | undefined;
    return row && toKey(row);
  }

  async listForUser(userId: number): Promise<ApiKey[]> {
    const rows = (await this.knex('api_keys').select(COLUMNS).where({ user_id: userId }).orderBy('id')) as KeyRow[];
    return rows.map(toKey);
  }

  async byGuidForUser(userId: number, guid: string): Promise<ApiKey | undefined> {
    const row = (await this.knex('api_keys').select(COLUMNS).where({ user_id: userId, guid }).first()) as KeyRow | undefined;
    return row && toKey(row);
  }

  async delete(id: number): Promise<boolean> {
    return (await this.knex('api_keys').where({ id }).delete()) > 0;
  }

  /**
   * Deletes the scoped keys (a user's own keys are never touched) whose name starts with
   * `prefix`, except those named in `keep`. `prefix` must hold no LIKE wildcards (% or _):
   * callers pass a constant.
   */
  async deleteScopedByNamePrefix(prefix: string, keep: readonly string[] = []): Promise<number> {
    const q = this.knex('api_keys').whereNotNull('scope').where('name', 'like', `${prefix}%`);
    if (keep.length) q.whereNotIn('name', keep);
    return q.delete();
  }

  /** Deletes the scoped keys of that name (a user's own keys are never touched). */
  async deleteScopedByName(name: string): Promise<number> {
    return this.knex('api_keys').whereNotNull('scope').where({ name }).delete();
  }

  /** The id of the content a process key's scope names, if it still exists. */
  async contentIdByGuid(guid: string): Promise<number | undefined> {
    const row = (await this.knex('content').select('id').where({ guid }).first()) as { id: number } | undefined;
    return row ? Number(row.id) : undefined;
  }

  async touchUsed(id: number, at: Date): Promise<void> {
    await this.knex('api_keys').where({ id }).update({ last_used_time: at });
  }
}
