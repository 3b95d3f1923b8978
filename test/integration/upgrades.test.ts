import type { Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import { createAppContext } from '../../src/app-context.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { schemaState } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { BundleRepo } from '../../src/repositories/bundle-repo.ts';
import { ContentRepo } from '../../src/repositories/content-repo.ts';
import { UserRepo } from '../../src/repositories/user-repo.ts';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';
import { runCli } from '../helpers/process.ts';

// Upgrades: migrations only go forward, from any schema a release had, with the data in it;
// `lectern migrate --dry-run` says what would run; a schema newer than the code is refused.

const NAMES = Object.keys(migrations);
const USER_GUID = '00000000-0000-4000-8000-0000000000a1';
const CONTENT_GUID = '00000000-0000-4000-8000-0000000000c1';

/** Applies the first `n` migrations, one at a time, as the releases that had them did. */
async function migrateTo(knex: Knex, n: number) {
  const source: Knex.MigrationSource<string> = {
    getMigrations: async () => NAMES.slice(0, n),
    getMigrationName: (name) => name,
    getMigration: async (name) => migrations[name]!,
  };
  await knex.migrate.latest({ migrationSource: source });
}

/** What every schema since the first has held: a user with a key, and content with a bundle. */
async function seed(knex: Knex) {
  const now = new Date();
  const [{ id: userId }] = await knex('users')
    .insert({ guid: USER_GUID, username: 'Early', username_key: 'early', user_role: 'publisher', created_time: now, updated_time: now })
    .returning('id');
  await knex('api_keys').insert({
    guid: '00000000-0000-4000-8000-0000000000b1',
    user_id: userId,
    name: 'k',
    key_hash: 'h'.repeat(64),
    hint: 'abcd',
    created_time: now,
  });
  const [{ id: contentId }] = await knex('content')
    .insert({ guid: CONTENT_GUID, name: 'early-app', owner_id: userId, app_mode: 'static', created_time: now, updated_time: now })
    .returning('id');
  await knex('bundles').insert({ content_id: contentId, size: 123, metadata: '{}', created_time: now });
  return { contentId };
}

describe.each(DATABASES)('upgrades on %s', (kind) => {
  let tdb: TestDatabase;
  afterEach(async () => tdb?.drop());
  const configOf = (d: TestDatabase) => loadConfig({ env: {}, overrides: { dataDir: d.dataDir, database: { url: d.url } } });

  it('migrate forward from every earlier schema with data in it, and the data reads back', async () => {
    // From the first migration (the oldest schema with tables) to the one before the last.
    for (let n = 1; n < NAMES.length; n++) {
      tdb = await createTestDatabase(kind);
      const db = openDatabase(configOf(tdb));
      try {
        await migrateTo(db.knex, n);
        // The first schema has users and content; seed once the tables it needs are there.
        const seeded = (await db.knex.schema.hasTable('bundles')) ? await seed(db.knex) : undefined;
        expect((await schemaState(db.knex)).pending, `from ${NAMES[n - 1]}`).toEqual(NAMES.slice(n));
        await migrateTo(db.knex, NAMES.length);
        expect((await schemaState(db.knex)).pending).toEqual([]);
        if (seeded) {
          const user = await new UserRepo(db.knex).byGuid(USER_GUID);
          expect(user, `user after upgrading from ${NAMES[n - 1]}`).toMatchObject({ username: 'Early', role: 'publisher' });
          const content = await new ContentRepo(db.knex).byGuid(CONTENT_GUID);
          expect(content, `content after upgrading from ${NAMES[n - 1]}`).toMatchObject({ name: 'early-app' });
          expect((await new BundleRepo(db.knex).listForContent(seeded.contentId)).length).toBe(1);
        }
      } finally {
        await db.knex.destroy();
        await tdb.drop();
      }
    }
  });

  it('lectern migrate --dry-run lists what would run and changes nothing; lectern migrate runs it', async () => {
    tdb = await createTestDatabase(kind);
    const db = openDatabase(configOf(tdb));
    try {
      await migrateTo(db.knex, NAMES.length - 2);
    } finally {
      await db.knex.destroy();
    }
    const env = { LECTERN_DATA_DIR: tdb.dataDir, LECTERN_DATABASE_URL: tdb.url };
    const dry = await runCli(['migrate', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would run 2:\n  ${NAMES.at(-2)}\n  ${NAMES.at(-1)}\n`);
    expect((await runCli(['migrate', '--dry-run'], env)).stdout).toContain('would run 2:');
    const run = await runCli(['migrate'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`ran 2:\n  ${NAMES.at(-2)}\n  ${NAMES.at(-1)}\n`);
    expect((await runCli(['migrate', '--dry-run'], env)).stdout).toContain('the schema is current');
  });

  it('refuses to start on a schema newer than its code, and writes nothing', async () => {
    tdb = await createTestDatabase(kind);
    const config = configOf(tdb);
    const db = openDatabase(config);
    try {
      await migrateTo(db.knex, NAMES.length);
      await db.knex('knex_migrations').insert({ name: '20991231-001-from-the-future', batch: 99, migration_time: new Date() });
    } finally {
      await db.knex.destroy();
    }
    await expect(createAppContext(config, createLogger('silent'))).rejects.toThrow(/schema is newer than this Lectern.*20991231-001-from-the-future/);
    const cli = await runCli(['migrate', '--dry-run'], { LECTERN_DATA_DIR: tdb.dataDir, LECTERN_DATABASE_URL: tdb.url });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('newer than this Lectern');
    expect(cli.stderr).not.toContain('    at ');
  });
});
