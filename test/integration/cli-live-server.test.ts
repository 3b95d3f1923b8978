import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { runCli } from '../helpers/process.ts';
import { followTaskV1 } from '../helpers/tasks.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const flask = (app: string) =>
  makeBundle(
    { 'requirements.txt': 'flask\n', 'app.py': app },
    { appmode: 'python-api', entrypoint: 'app:app' },
    { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
  );

const KEYED =
  "import os\nfrom flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    return 'up'\n@app.route('/key')\ndef k():\n    return os.environ['CONNECT_API_KEY']\n";
// Takes a while to import: its deploy is still in flight while the CLI runs.
const SLOW = "import time\ntime.sleep(8)\nfrom flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    return 'slow but up'\n";

describe.each(DATABASES)('the CLI next to a running server on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
  });
  afterAll(async () => t?.close());

  /** bin/lectern on the server's data directory and database, as an administrator runs it on the host. */
  const lectern = async (...args: string[]) => {
    const r = await runCli(args, { LECTERN_DATA_DIR: t.db.dataDir, LECTERN_DATABASE_URL: t.db.url });
    expect(r.code, r.stderr).toBe(0);
    return r;
  };

  async function runningJobs(guid: string): Promise<string[]> {
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key: t.admin.key });
    return (jobs.body as Array<{ status: number; key: string }>).filter((j) => j.status === 0).map((j) => j.key);
  }

  it('creates users and keys and locks users without disturbing a running app or a deploy in flight', async () => {
    const app = await deployBundle(t.url, t.admin.key, 'keyed', await flask(KEYED));
    expect(app.task.code, app.log).toBe(0);
    const processKey = (await get(`${app.content.content_url}key`, t.admin.key)).text;
    const jobsBefore = await runningJobs(app.content.guid);
    expect(jobsBefore.length).toBe(1);

    // A deploy in flight: its app is still importing.
    const created = await api(t.url, 'POST', '/__api__/v1/content', { key: t.admin.key, body: { name: 'slow' } });
    const { uploadChunked } = await import('../helpers/bundles.ts');
    const up = await uploadChunked(t.url, `/__api__/v1/content/${created.body.guid}/bundles`, t.admin.key, await flask(SLOW));
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${created.body.guid}/deploy`, { key: t.admin.key, body: { bundle_id: up.body.id } });
    await expect
      .poll(async () => JSON.stringify((await api(t.url, 'GET', `/__api__/v1/tasks/${dep.body.task_id}`, { key: t.admin.key })).body.output), {
        timeout: 30_000,
        interval: 200,
      })
      .toContain('Starting the app');

    expect((await lectern('users', 'create', 'carol', '--role', 'publisher')).stdout).toContain('created publisher carol');
    expect((await lectern('keys', 'create', 'carol', '--name', 'laptop')).stdout.trim()).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await lectern('users', 'lock', 'carol')).stdout).toContain('locked carol');
    expect((await lectern('users', 'list')).stdout).toContain('carol');

    // The deploy finishes as it would have, the app runs on in the same process, and its key works.
    const task = await followTaskV1(t.url, t.admin.key, dep.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);
    expect(await runningJobs(app.content.guid)).toEqual(jobsBefore);
    expect((await get(app.content.content_url, t.admin.key)).text).toBe('up');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${app.content.guid}`, { key: processKey })).status).toBe(200);
  });
});
