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
}

const COLUMNS = ['id', 'guid', 'user_id', 'name', 'hint', 'created_time', 'last_used_time'];

function toKey(r: KeyRow): ApiKey {
  return {
    id: Number(r.id),
    guid: r.guid,
    userId: Number(r.user_id),
    name: r.name,
    hint: r.hint,
    createdTime: toDate(r.created_time),
    lastUsedTime: toDateOrNull(r.last_used_time),
  };
}

export class ApiKeyRepo {
  constructor(private readonly knex: Knex) {}

  async create(userId: number, name: string, keyHash: string, hint: string): Promise<ApiKey> {
    const [row] = (await this.knex('api_keys')
      .insert({ guid: randomUUID(), user_id: userId, name, key_hash: keyHash, hint, created_time: new Date() })
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
    const row = (await this.knex('api_keys').select(COLUMNS).where({ user_id: userId, guid }).first()) as
      | KeyRow
      | undefined;
    return row && toKey(row);
  }

  async delete(id: number): Promise<boolean> {
    return (await this.knex('api_keys').where({ id }).delete()) > 0;
  }

  /** `prefix` must hold no LIKE wildcards (% or _): callers pass a constant. */
  /** Deletes the keys whose name starts with `prefix`, except those named in `keep`. */
  async deleteByNamePrefix(prefix: string, keep: readonly string[] = []): Promise<number> {
    const q = this.knex('api_keys').where('name', 'like', `${prefix}%`);
    if (keep.length) q.whereNotIn('name', keep);
    return q.delete();
  }

  async deleteByName(name: string): Promise<number> {
    return this.knex('api_keys').where({ name }).delete();
  }

  async touchUsed(id: number, at: Date): Promise<void> {
    await this.knex('api_keys').where({ id }).update({ last_used_time: at });
  }
}
