import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, staticBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const PROBE = `
import json, os
from flask import Flask, request
app = Flask(__name__)

@app.route('/')
def index():
    return 'probe ready'

@app.route('/read')
def read():
    try:
        with open(request.args['path'], 'rb') as f:
            f.read(16)
        return 'READ'
    except Exception as e:
        return 'DENIED ' + type(e).__name__

@app.route('/env')
def env():
    return json.dumps({'env': dict(os.environ), 'uid': os.getuid()})
`;

const flask = (files: Record<string, string | Buffer>) =>
  makeBundle(
    { 'requirements.txt': 'flask\n', ...files },
    { appmode: 'python-api', entrypoint: 'app:app' },
    { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
  );

describe.each(DATABASES)('the content sandbox on %s', (kind) => {
  let t: TestServer;
  let owner: Awaited<ReturnType<TestServer['createUser']>>;
  beforeAll(async () => {
    // Something only the server's environment holds.
    process.env.LECTERN_TEST_SENTINEL = 'server-only-value';
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
    owner = await t.createUser('sandboxed', 'publisher');
  });
  afterAll(async () => {
    delete process.env.LECTERN_TEST_SENTINEL;
    await t?.close();
  });

  it('cannot read the database, the secret key or other content, nor see the server environment', async () => {
    const other = await deployBundle(t.url, owner.key, 'neighbour', await staticBundle('<p>private neighbour</p>'));
    const probe = await deployBundle(t.url, owner.key, 'probe', await flask({ 'app.py': PROBE }));
    expect(probe.task.code, probe.log).toBe(0);
    await api(t.url, 'PATCH', `/__api__/v1/content/${probe.content.guid}/environment`, { key: owner.key, body: [{ name: 'DB_PASSWORD', value: 'hunter2' }] });
    // Variables are read at process start: restart it by deploying again.
    await api(t.url, 'POST', `/__api__/v1/content/${probe.content.guid}/deploy`, { key: owner.key, body: {} }).then(async (r) => {
      const { followTaskV1 } = await import('../helpers/tasks.ts');
      expect((await followTaskV1(t.url, owner.key, r.body.task_id)).code).toBe(0);
    });
    const read = async (p: string) => (await get(`${probe.content.content_url}read?path=${encodeURIComponent(p)}`, owner.key)).text;

    expect(await read('/lectern/app/app.py')).toBe('READ'); // its own bundle
    const dataDir = t.db.dataDir;
    for (const secret of [
      path.join(dataDir, 'lectern.db'),
      path.join(dataDir, 'secret.key'),
      path.join(dataDir, 'bundles', other.content.guid, other.bundleId, 'index.html'),
    ]) {
      expect(await read(secret), secret).toMatch(/^DENIED/);
    }

    const { env, uid } = JSON.parse((await get(`${probe.content.content_url}env`, owner.key)).text) as { env: Record<string, string>; uid: number };
    expect(Object.values(env).join('\n')).not.toContain('server-only-value');
    for (const [k, v] of Object.entries(process.env)) {
      if (k.startsWith('LECTERN_') || k.startsWith('PIP_') || k === 'PYENV_ROOT') expect(env[k], k).not.toBe(v);
    }
    expect(env).toMatchObject({ CONNECT_CONTENT_GUID: probe.content.guid, RSTUDIO_PRODUCT: 'CONNECT', DB_PASSWORD: 'hunter2' });
    expect(env.CONNECT_SERVER).toBe(`${t.url}/`);
    if (process.getuid?.() === 0) expect(uid).toBeGreaterThanOrEqual(1_800_000_000); // runs as a uid of its own

    // The process's API key is its owner's, and dies with the process.
    const me = await api(t.url, 'GET', '/__api__/v1/user', { key: env.CONNECT_API_KEY });
    expect(me.body.username).toBe('sandboxed');
    await api(t.url, 'DELETE', `/__api__/v1/content/${probe.content.guid}`, { key: owner.key });
    await expect.poll(async () => (await api(t.url, 'GET', '/__api__/v1/user', { key: env.CONNECT_API_KEY })).status, { timeout: 10_000 }).toBe(401);
  });

  it('keeps each process as a job with its output, and kills one on request', async () => {
    const d = await deployBundle(
      t.url,
      owner.key,
      'jobs-app',
      await flask({
        'app.py': "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    print('served a request', flush=True)\n    return 'hi'\n",
      }),
    );
    expect((await get(d.content.content_url, owner.key)).text).toBe('hi');
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key: owner.key });
    const running = jobs.body.find((j: { status: number }) => j.status === 0);
    expect(running).toMatchObject({ bundle_id: d.bundleId, tag: 'run_app' });
    await expect
      .poll(async () =>
        JSON.stringify((await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs/${running.key}/log`, { key: owner.key })).body.entries),
      )
      .toContain('served a request');

    // The tail follows the log: a request made while following shows up in the stream.
    const ac = new AbortController();
    const tail = await fetch(`${t.url}/__api__/v1/content/${d.content.guid}/jobs/${running.key}/tail`, {
      headers: { authorization: `Key ${owner.key}` },
      signal: ac.signal,
    });
    expect(tail.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = tail.body!.getReader();
    let streamed = '';
    await get(`${d.content.content_url}?marker=1`, owner.key);
    while (!streamed.includes('served a request') || streamed.split('served a request').length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      streamed += new TextDecoder().decode(value);
    }
    ac.abort();
    expect(streamed).toMatch(/^data: \{"timestamp":/m);

    const killed = await api(t.url, 'DELETE', `/__api__/v1/content/${d.content.guid}/jobs/${running.key}`, { key: owner.key });
    expect(killed.body.killed).toBe(true);
    const after = await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs/${running.key}`, { key: owner.key });
    expect(after.body).toMatchObject({ status: 1, state: 'killed' });
    // The next request starts a new process (a cold start).
    expect((await get(d.content.content_url, owner.key)).text).toBe('hi');
    const other = await t.createUser('nosy', 'publisher');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key: other.key })).status).toBe(404);
  });

  it('fails deploys with a readable reason: crash at start, never listening, failed render', async () => {
    const crash = await deployBundle(t.url, owner.key, 'crasher', await flask({ 'app.py': "raise RuntimeError('the database is not configured')\n" }));
    expect(crash.task.code).not.toBe(0);
    expect(crash.task.error).toMatch(/exited with code \d+ before it started listening/);
    expect(crash.task.error).toContain('the database is not configured');

    const slow = await deployBundle(t.url, owner.key, 'sleeper', await flask({ 'app.py': 'import time\ntime.sleep(600)\n' }), { init_timeout: 3 });
    expect(slow.task.code).not.toBe(0);
    expect(slow.task.error).toMatch(/did not answer HTTP within its init timeout of 3 s/);

    const nb = JSON.stringify({
      cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: ["raise ValueError('bad data')"] }],
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 4,
      nbformat_minor: 5,
    });
    const render = await deployBundle(
      t.url,
      owner.key,
      'bad-notebook',
      await makeBundle(
        { 'nb.ipynb': nb, 'requirements.txt': '' },
        { appmode: 'jupyter-static', entrypoint: 'nb.ipynb' },
        { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
      ),
    );
    expect(render.task.code).not.toBe(0);
    expect(render.task.error).toMatch(/render failed/);
    expect(render.log).toContain('bad data');
  });

  it("tells an app who the viewer is, and nothing of Lectern's credentials", async () => {
    const echo =
      "import json\nfrom flask import Flask, request\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    return json.dumps(dict(request.headers))\n";
    const d = await deployBundle(t.url, owner.key, 'header-echo', await flask({ 'app.py': echo }));
    expect(d.task.code, d.log).toBe(0);
    const group = await api(t.url, 'POST', '/__api__/v1/groups', { key: owner.key, body: { name: 'analysts' } });
    await api(t.url, 'POST', `/__api__/v1/groups/${group.body.guid}/members`, { key: owner.key, body: { user_guid: owner.user.guid } });
    const res = await get(d.content.content_url, owner.key, {
      cookie: 'lectern_session=stolen; theme=dark',
      'RStudio-Connect-Credentials': '{"user":"admin"}',
      'x-forwarded-for': '203.0.113.9',
    });
    const headers = Object.fromEntries(Object.entries(JSON.parse(res.text) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    expect(JSON.parse(headers['rstudio-connect-credentials']!)).toEqual({ user: 'sandboxed', groups: ['analysts'] });
    expect(headers['x-lectern-user']).toBe('sandboxed');
    expect(headers.cookie).toBe('theme=dark');
    expect(headers.authorization).toBeUndefined();
    expect(headers['x-forwarded-for']).toContain('127.0.0.1');
    expect(headers['x-lectern-base-path']).toBe(`/content/${d.content.guid}/`);
  });

  it("applies a publisher's variables only after dropping privileges (LD_PRELOAD, PATH)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-preload-'));
    writeFileSync(
      path.join(dir, 'probe.c'),
      '#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void probe(void) { fprintf(stderr, "PRELOAD uid=%d\\n", (int)getuid()); }\n',
    );
    execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(dir, 'probe.so'), path.join(dir, 'probe.c')]);
    const d = await deployBundle(
      t.url,
      owner.key,
      'preloader',
      await flask({ 'app.py': PROBE, 'probe.so': readFileSync(path.join(dir, 'probe.so')), setpriv: '#!/bin/sh\necho FAKE-SETPRIV >&2\nexec "$@"\n' }),
    );
    expect(d.task.code, d.log).toBe(0);
    await api(t.url, 'PUT', `/__api__/v1/content/${d.content.guid}/environment`, {
      key: owner.key,
      body: [
        { name: 'LD_PRELOAD', value: '/lectern/app/probe.so' },
        { name: 'PATH', value: '/lectern/app:/usr/bin:/bin' },
      ],
    });
    const { followTaskV1 } = await import('../helpers/tasks.ts');
    const again = await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/deploy`, { key: owner.key, body: {} });
    expect((await followTaskV1(t.url, owner.key, again.body.task_id)).code).toBe(0);
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key: owner.key });
    const running = jobs.body.find((j: { status: number }) => j.status === 0);
    const log = JSON.stringify((await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs/${running.key}/log`, { key: owner.key })).body.entries);
    if (process.getuid?.() === 0) {
      expect(log).toContain('PRELOAD uid=18'); // the app itself loads it, as its own uid
      expect(log).not.toContain('PRELOAD uid=0'); // nothing that still ran as root did
    }
    expect(log).not.toContain('FAKE-SETPRIV');
  });

  it('publishes only regular files from a render, never a link to a server file', async () => {
    const secret = path.join(t.db.dataDir, 'secret.key');
    const code = `import os\nos.symlink(${JSON.stringify(secret)}, '/lectern/output/key.txt')\nprint('planted')`;
    const nb = JSON.stringify({
      cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: [code] }],
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 4,
      nbformat_minor: 5,
    });
    const d = await deployBundle(
      t.url,
      owner.key,
      'link-planter',
      await makeBundle(
        { 'nb.ipynb': nb, 'requirements.txt': '' },
        { appmode: 'jupyter-static', entrypoint: 'nb.ipynb' },
        { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
      ),
    );
    expect(d.task.code, d.log).toBe(0);
    expect(d.log).toContain('Removed key.txt');
    const res = await get(`${d.content.content_url}key.txt`, owner.key);
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(readFileSync(secret, 'utf8').trim());
  });

  it("drops an app's attempts to set Lectern's cookies, however spelled", async () => {
    const app =
      "from flask import Flask, make_response\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    r = make_response('cookies')\n    r.headers.add('Set-Cookie', 'lectern_session =spoofed; Path=/')\n    r.headers.add('Set-Cookie', '=lectern_session=spoofed; Path=/login')\n    r.headers.add('Set-Cookie', 'theme=dark; Path=/')\n    return r\n";
    const d = await deployBundle(t.url, owner.key, 'cookie-setter', await flask({ 'app.py': app }));
    expect(d.task.code, d.log).toBe(0);
    const res = await fetch(d.content.content_url, { headers: { authorization: `Key ${owner.key}` } });
    const cookies = res.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('theme=dark'))).toBe(true);
    expect(cookies.filter((c) => c.includes('lectern_session'))).toEqual([]);
  });

  it('treats a request carrying two session cookies (one planted by content) as logged out', async () => {
    const { BrowserSession } = await import('../helpers/browser.ts');
    const b = new BrowserSession(t.url);
    await b.login('sandboxed', owner.password);
    const mine = `lectern_session=${b.cookies.get('lectern_session')}`;
    const asMe = await fetch(`${t.url}/__api__/v1/user`, { headers: { cookie: mine } });
    expect(asMe.status).toBe(200);
    const tossed = await fetch(`${t.url}/__api__/v1/user`, { headers: { cookie: `lectern_session=s%3Aplanted.sig; ${mine}` } });
    expect(tossed.status).toBe(401);
  });

  it("runs a Node.js server (Connect's nodejs mode)", async () => {
    const server =
      "require('http').createServer((req, res) => res.end('node ' + req.headers['x-lectern-base-path'] + ' ' + req.url)).listen(Number(process.env.PORT), process.env.HOST);\n";
    const d = await deployBundle(t.url, owner.key, 'node-app', await makeBundle({ 'server.js': server }, { appmode: 'nodejs', entrypoint: 'server.js' }));
    expect(d.task.code, d.log).toBe(0);
    expect((await get(`${d.content.content_url}hello?x=1`, owner.key)).text).toBe(`node /content/${d.content.guid}/ /hello?x=1`);
  });

  it('lists the installed interpreters for clients', async () => {
    for (const lang of ['python', 'r']) {
      const res = await api(t.url, 'GET', `/__api__/v1/server_settings/${lang}`, { key: owner.key });
      expect(res.body.api_enabled).toBe(true);
      expect(res.body.installations[0].version).toMatch(lang === 'python' ? /^3\.\d+\.\d+$/ : /^4\.\d+\.\d+$/);
    }
  });

  it('says what to install when an interpreter is missing', async () => {
    const bare = await startTestServer(kind, { config: { runtime: { python: ['/nonexistent/python3'] } } as never });
    try {
      const u = await bare.createUser('nopython', 'publisher');
      const d = await deployBundle(bare.url, u.key, 'no-python', await flask({ 'app.py': PROBE }));
      expect(d.task.code).not.toBe(0);
      expect(d.task.error).toMatch(/No Python .*apt-get install python3/);
    } finally {
      await bare.close();
    }
  });
});
