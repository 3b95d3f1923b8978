import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASES, type TestDatabase } from '../helpers/databases.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const modeOf = (p: string) => statSync(p).mode & 0o777;

describe.each(DATABASES)('the data directory on %s', (kind) => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('is private from the first start: directory 0700, secret key and database 0600', async () => {
    t = await startTestServer(kind);
    const dir = t.db.dataDir;
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(dir, 'secret.key'))).toBe(0o600);
    if (kind === 'sqlite') {
      // WAL mode: the -wal and -shm files exist while the server runs.
      for (const f of ['lectern.db', 'lectern.db-wal', 'lectern.db-shm']) expect([f, modeOf(path.join(dir, f))]).toEqual([f, 0o600]);
    }
  });

  it('tightens a data directory, secret key and database left world-readable, at every start, and says so', async () => {
    const first = await startTestServer(kind);
    const db: TestDatabase = first.db;
    await first.stop();
    const dir = db.dataDir;
    const loose = [path.join(dir, 'secret.key')];
    if (kind === 'sqlite') loose.push(...['lectern.db', 'lectern.db-wal', 'lectern.db-shm'].map((f) => path.join(dir, f)));
    chmodSync(dir, 0o755);
    for (const f of loose) {
      // A cleanly closed database leaves no -wal/-shm: an empty one is what SQLite treats as none.
      if (!existsSync(f)) writeFileSync(f, '');
      chmodSync(f, 0o644);
    }

    t = await startTestServer(kind, { db });
    expect(modeOf(dir)).toBe(0o700);
    for (const f of loose) expect([path.basename(f), modeOf(f)]).toEqual([path.basename(f), 0o600]);
    const said = t.logs.map((l) => JSON.parse(l) as { msg?: string; path?: string; from?: string; to?: string }).filter((l) => /tightened/.test(l.msg ?? ''));
    const paths = said.map((l) => l.path);
    expect(paths).toContain(dir);
    for (const f of loose) expect(paths).toContain(f);
    expect(said.find((l) => l.path === dir)).toMatchObject({ from: '0755', to: '0700' });
    // Still the same server: the key and the database survived.
    const res = await fetch(`${t.url}/__api__/v1/user`, { headers: { authorization: `Key ${t.admin.key}` } });
    expect(res.status).toBe(200);
  });
});
