import { afterEach, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { createTestDatabase, DATABASES, type TestDatabase } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { spawnLectern, type LecternProcess } from '../helpers/process.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const python = { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } };
const flaskApp = (code: string) => makeBundle({ 'app.py': code, 'requirements.txt': 'flask\n' }, { appmode: 'python-api', entrypoint: 'app:app' }, python);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.each(DATABASES)('content process lifecycle on %s', (kind) => {
  let t: TestServer | undefined;
  let proc: LecternProcess | undefined;
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    proc = undefined;
    await db?.drop();
    db = undefined;
  });

  it('backs off an app that keeps dying, and says so', async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
    const u = await t.createUser('looper', 'publisher');
    // Starts fine, then dies on its first real request.
    const d = await deployBundle(
      t.url,
      u.key,
      'dies-on-request',
      await flaskApp(
        "import os\nfrom flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef ready():\n    return 'up'\n@app.route('/work')\ndef work():\n    os._exit(3)\n",
      ),
    );
    expect(d.task.code, d.log).toBe(0);
    const crash = await get(`${d.content.content_url}work`, u.key);
    expect(crash.status).toBe(502);
    // The exit was within a minute of starting: the next start waits.
    await expect.poll(async () => (await get(d.content.content_url, u.key)).status).toBe(503);
    const waiting = await get(d.content.content_url, u.key);
    expect(Number(waiting.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(waiting.text).toMatch(/keeps exiting soon after it starts/);
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key: u.key });
    expect(jobs.body.some((j: { exit_code: number | null; state: string }) => j.exit_code === 3 && j.state === 'failed')).toBe(true);
  });

  it('leaves no content process behind when the server is killed, and serves again after a restart', async () => {
    db = await createTestDatabase(kind);
    const env = {
      LECTERN_DATA_DIR: db.dataDir,
      LECTERN_DATABASE_URL: db.url,
      LECTERN_ADDRESS: '127.0.0.1',
      LECTERN_PORT: '0',
      LECTERN_PYTHON_ENVIRONMENT_MANAGEMENT: 'false',
    };
    proc = spawnLectern(env);
    const base = `http://127.0.0.1:${await proc.listening}`;
    const key = /API key:\s+(\S+)/.exec(proc.stdout())![1]!;
    const d = await deployBundle(
      base,
      key,
      'survivor',
      await flaskApp("from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    return 'alive'\n"),
    );
    expect(d.task.code, d.log).toBe(0);
    const jobs = await api(base, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key });
    const pid = jobs.body.find((j: { status: number }) => j.status === 0).pid as number;
    expect(alive(pid)).toBe(true);

    proc.child.kill('SIGKILL');
    await proc.exited;
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);

    proc = spawnLectern(env);
    const base2 = `http://127.0.0.1:${await proc.listening}`;
    const after = await api(base2, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key });
    expect(after.body.find((j: { pid: number }) => j.pid === pid)).toMatchObject({ status: 1, state: 'lost' });
    expect((await get(`${base2}/content/${d.content.guid}/`, key)).text).toBe('alive');
  });
});
