import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';
import { spawnLectern, type LecternProcess } from '../helpers/process.ts';
import { api } from '../helpers/server.ts';

// The first-run administrator key is a full administrator key printed to a console: the
// administrator is told how to revoke it, and doing what the message says revokes it.
describe.each(DATABASES)('the first-run key on %s', (kind) => {
  let db: TestDatabase;
  let proc: LecternProcess | undefined;
  afterEach(async () => {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    proc = undefined;
    await db?.drop();
  });

  it('is printed with its id and how to revoke it, and the printed call revokes it', async () => {
    db = await createTestDatabase(kind);
    proc = spawnLectern({ LECTERN_DATA_DIR: db.dataDir, LECTERN_DATABASE_URL: db.url, LECTERN_ADDRESS: '127.0.0.1', LECTERN_PORT: '0' });
    const port = await proc.listening;
    const base = `http://127.0.0.1:${port}`;
    const out = proc.stdout();
    const key = /API key:\s+(\S+)/.exec(out)![1]!;

    const [listed] = (await api(base, 'GET', '/__api__/v1/user/api_keys', { key })).body;
    expect(out).toMatch(new RegExp(`API key id:\\s+${listed.id}`));
    expect(out).toContain('home page');
    const call = /curl -X DELETE .* (\S+\/__api__\/v1\/user\/api_keys\/[0-9a-f-]{36})$/m.exec(out);
    expect(call, out).not.toBeNull();
    const url = new URL(call![1]!);
    expect(url.pathname).toBe(`/__api__/v1/user/api_keys/${listed.id}`);

    const del = await api(base, 'DELETE', url.pathname, { key });
    expect(del.status).toBe(200);
    expect((await api(base, 'GET', '/__api__/v1/user', { key })).status).toBe(401);
  });
});
