import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { appliedMigrations, migrateLatest, migrateRollbackAll } from '../../src/db/migrate.ts';
import { migrations } from '../../migrations/index.ts';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';

const TABLES = ['users', 'groups', 'group_members', 'api_keys', 'sessions', 'audit_log', 'content', 'bundles', 'tasks', 'task_output', 'content_environment'];

describe.each(DATABASES)('migrations on %s', (kind) => {
  let tdb: TestDatabase;
  afterEach(async () => tdb?.drop());

  it('create every table on an empty database, are idempotent, and roll back cleanly', async () => {
    tdb = await createTestDatabase(kind);
    const db = openDatabase(loadConfig({ env: {}, overrides: { dataDir: tdb.dataDir, database: { url: tdb.url } } }));
    try {
      expect(db.dialect).toBe(kind);
      expect(await migrateLatest(db.knex)).toEqual(Object.keys(migrations));
      for (const t of TABLES) expect(await db.knex.schema.hasTable(t), t).toBe(true);
      expect(await appliedMigrations(db.knex)).toEqual(Object.keys(migrations));

      // A second start applies nothing.
      expect(await migrateLatest(db.knex)).toEqual([]);

      // The schema holds what it promises: unique usernames regardless of case, keys cascade.
      const now = new Date();
      const user = {
        guid: '00000000-0000-4000-8000-000000000001',
        username: 'Ada',
        username_key: 'ada',
        user_role: 'viewer',
        created_time: now,
        updated_time: now,
      };
      const [{ id }] = await db.knex('users').insert(user).returning('id');
      await expect(db.knex('users').insert({ ...user, guid: '00000000-0000-4000-8000-000000000002', username: 'ADA' })).rejects.toThrow();
      await db
        .knex('api_keys')
        .insert({ guid: '00000000-0000-4000-8000-000000000003', user_id: id, name: 'k', key_hash: 'h'.repeat(64), hint: 'abcd', created_time: now });
      await db.knex('users').where({ id }).delete();
      expect(await db.knex('api_keys').count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
      expect(Number((await db.knex('api_keys').count({ n: '*' }).first())!.n)).toBe(0);

      await migrateRollbackAll(db.knex);
      for (const t of TABLES) expect(await db.knex.schema.hasTable(t), t).toBe(false);
      expect(await migrateLatest(db.knex)).toEqual(Object.keys(migrations));
    } finally {
      await db.knex.destroy();
    }
  });
});
