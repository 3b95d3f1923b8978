import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateLatest } from '../../src/db/migrate.ts';
import { RecentViewRepo } from '../../src/repositories/recent-view-repo.ts';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';

describe.each(DATABASES)('recently viewed on %s', (kind) => {
  let tdb: TestDatabase;
  afterEach(async () => tdb?.drop());

  it("keeps each user's newest hundred visits, one row per item, and leaves other users' alone", async () => {
    tdb = await createTestDatabase(kind);
    const db = openDatabase(loadConfig({ env: {}, overrides: { dataDir: tdb.dataDir, database: { url: tdb.url } } }));
    try {
      await migrateLatest(db.knex);
      const now = new Date();
      const user = (n: number) => ({
        guid: `00000000-0000-4000-8000-00000000000${n}`,
        username: `u${n}`,
        username_key: `u${n}`,
        user_role: 'viewer',
        created_time: now,
        updated_time: now,
      });
      const [{ id: ada }] = await db.knex('users').insert(user(1)).returning('id');
      const [{ id: bo }] = await db.knex('users').insert(user(2)).returning('id');
      const items: number[] = [];
      for (let i = 0; i < 102; i++) {
        const guid = `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        const [{ id }] = await db
          .knex('content')
          .insert({ guid, name: `item-${i}`, owner_id: ada, created_time: now, updated_time: now })
          .returning('id');
        items.push(id);
      }
      const repo = new RecentViewRepo(db.knex);
      await repo.record(bo, items[0]!, new Date(now.getTime() - 1000));
      for (const [i, id] of items.entries()) await repo.record(ada, id, new Date(now.getTime() + i * 1000));
      // Opened again: one row, its time moved on.
      await repo.record(ada, items[101]!, new Date(now.getTime() + 500_000));
      const kept = (await db.knex('recent_views').where('user_id', ada).orderBy('viewed_time', 'desc')) as Array<{ content_id: number }>;
      expect(kept).toHaveLength(100);
      expect(kept.map((r) => r.content_id)).toEqual(items.slice(2).reverse());
      expect(await db.knex('recent_views').where('user_id', bo)).toHaveLength(1);
    } finally {
      await db.knex.destroy();
    }
  });
});
