import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';
import { runCli, spawnLectern, type LecternProcess } from '../helpers/process.ts';
import { api } from '../helpers/server.ts';

describe.each(DATABASES)('the lectern process on %s', (kind) => {
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

  const envFor = (d: TestDatabase) => ({
    LECTERN_DATA_DIR: d.dataDir,
    LECTERN_DATABASE_URL: d.url,
    LECTERN_ADDRESS: '127.0.0.1',
    LECTERN_PORT: '0',
  });

  it('creates the first administrator on first run, prints its key once, and the key works', async () => {
    db = await createTestDatabase(kind);
    proc = spawnLectern(envFor(db));
    const port = await proc.listening;
    const key = /API key:\s+(\S+)/.exec(proc.stdout())![1]!;
    expect(proc.stdout()).toMatch(/one-time password:\s+\S{20}/);

    const me = await api(`http://127.0.0.1:${port}`, 'GET', '/__api__/v1/user', { key });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: 'admin', user_role: 'administrator' });

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);

    // A second start finds the administrator and prints no credentials.
    proc = spawnLectern(envFor(db));
    const port2 = await proc.listening;
    expect(proc.stdout()).not.toMatch(/API key:/);
    expect((await api(`http://127.0.0.1:${port2}`, 'GET', '/__api__/v1/user', { key })).status).toBe(200);
  });

  it('refuses to start on invalid settings and lists each one', async () => {
    db = await createTestDatabase(kind);
    proc = spawnLectern({ ...envFor(db), LECTERN_PORT: 'http', LECTERN_LOG_LEVEL: 'chatty' });
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toMatch(/server\.port \(LECTERN_PORT\)/);
    expect(proc.stderr()).toMatch(/logging\.level \(LECTERN_LOG_LEVEL\)/);
  });

  it('finishes an in-flight request on SIGTERM, refuses new connections, then exits cleanly', async () => {
    db = await createTestDatabase(kind);
    proc = spawnLectern(envFor(db));
    const port = await proc.listening;
    const key = /API key:\s+(\S+)/.exec(proc.stdout())![1]!;

    // A request whose body is still arriving when the signal comes.
    const body = JSON.stringify({ username: 'late-arrival', user_role: 'viewer', password: 'long-enough-password' });
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let response = '';
    sock.on('data', (d) => (response += d.toString()));
    const closed = new Promise((r) => sock.once('close', r));
    sock.write(
      `POST /__api__/v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Key ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 300));

    proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    expect(proc.child.exitCode).toBeNull(); // still finishing

    sock.write(body.slice(10));
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 201/);
    expect(response).toContain('"username":"late-arrival"');
    expect(await proc.exited).toBe(0);
    expect(proc.stdout()).toContain('"msg":"stopped"');
  });

  it('administers users and keys from the CLI', async () => {
    db = await createTestDatabase(kind);
    const env = envFor(db);
    const made = await runCli(['users', 'create', 'erin', '--role', 'publisher', '--email', 'erin@example.com'], env);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/created publisher erin/);
    expect(made.stdout).toMatch(/one-time password: \S{20}/);

    const withPw = await runCli(['users', 'create', 'frank', '--password-stdin'], env, 'franks-own-password\n');
    expect(withPw.code, withPw.stderr).toBe(0);
    expect(withPw.stdout).not.toMatch(/one-time password/);

    const bad = await runCli(['users', 'create', 'gina', '--role', 'emperor'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/administrator, publisher, viewer/);
    const dup = await runCli(['users', 'create', 'ERIN'], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already in use/);

    const key = (await runCli(['keys', 'create', 'erin', '--name', 'ci'], env)).stdout.trim();
    expect(key).toMatch(/^[A-Za-z0-9]{32}$/);

    const list = await runCli(['users', 'list', '--json'], env);
    expect(JSON.parse(list.stdout).map((u: { username: string }) => u.username)).toEqual(['erin', 'frank']);

    expect((await runCli(['users', 'lock', 'erin'], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['users', 'list', '--json'], env)).stdout)[0].locked).toBe(true);

    // The server started afterwards sees what the CLI did: erin's key is refused while she is locked.
    proc = spawnLectern(env);
    const port = await proc.listening;
    const res = await api(`http://127.0.0.1:${port}`, 'GET', '/__api__/v1/user', { key });
    expect(res.status).toBe(401);
    expect((await runCli(['users', 'lock', 'erin', '--unlock'], env)).code).toBe(0);
    expect((await api(`http://127.0.0.1:${port}`, 'GET', '/__api__/v1/user', { key })).body.username).toBe('erin');

    const unknown = await runCli(['keys', 'create', 'nobody'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No user named "nobody"/);
  });

  // The first-run administrator key is a full administrator key printed to a console: the
  // administrator is told how to revoke it, and doing what the message says revokes it.
  it('prints the first-run key with its id and how to revoke it, and the printed call revokes it', async () => {
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
