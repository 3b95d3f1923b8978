import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { followTaskV1 } from '../helpers/tasks.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// What a hostile app does on a shared host: looks for other items' ports and secrets.
const ATTACKER = `
import json, os, urllib.request
from flask import Flask, request
app = Flask(__name__)

@app.route('/')
def index():
    return 'attacker ready'

@app.route('/whoami')
def whoami():
    return json.dumps({'uid': os.getuid()})

@app.route('/connect')
def connect():
    port = int(request.args['port'])
    req = urllib.request.Request('http://127.0.0.1:%d/' % port, headers={'RStudio-Connect-Credentials': '{"user": "admin"}'})
    try:
        return 'REACHED ' + urllib.request.urlopen(req, timeout=3).read().decode()[:200]
    except Exception as e:
        return 'REFUSED ' + type(e).__name__

@app.route('/listening')
def listening():
    # Every listening TCP port this process can see, as an attacker reads them.
    ports = []
    for name in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(name) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == '0A':
                    ports.append(int(cols[1].split(':')[1], 16))
    return json.dumps(ports)

@app.route('/alloc')
def alloc():
    block = bytearray(int(request.args['mb']) * 1024 * 1024)
    return 'allocated %d' % len(block)

@app.route('/api')
def call_api():
    req = urllib.request.Request(os.environ['CONNECT_SERVER'] + '__api__/v1/content/' + os.environ['CONNECT_CONTENT_GUID'], headers={'Authorization': 'Key ' + os.environ['CONNECT_API_KEY']})
    return json.loads(urllib.request.urlopen(req, timeout=5).read())['guid']
`;

const VICTIM = `
from flask import Flask, request
app = Flask(__name__)

@app.route('/')
def index():
    return 'victim page for ' + request.headers.get('RStudio-Connect-Credentials', 'nobody')
`;

const flask = (app: string) =>
  makeBundle(
    { 'requirements.txt': 'flask\n', 'app.py': app },
    { appmode: 'python-api', entrypoint: 'app:app' },
    { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
  );

/** Runs a command as another local account (nobody, or a uid of the content range). */
function runAsUid(uid: number, argv: string[]): { ok: boolean; out: string } {
  try {
    return {
      ok: true,
      out: execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: string }).stderr ?? err) };
  }
}

/** Host pids whose environment holds `needle` (read as root, as the test's own check). */
function pidsWithEnv(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(needle)) out.push(Number(name));
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

describe.each(DATABASES)('local content isolation on %s', (kind) => {
  let t: TestServer;
  let publisher: Awaited<ReturnType<TestServer['createUser']>>;
  let attacker: Awaited<ReturnType<typeof deployBundle>>;
  let victim: Awaited<ReturnType<typeof deployBundle>>;
  const secret = `s3cret-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    expect(process.getuid?.(), 'these tests prove what Lectern does as root').toBe(0);
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
    publisher = await t.createUser('mallory', 'publisher');
    victim = await deployBundle(t.url, t.admin.key, 'victim', await flask(VICTIM));
    expect(victim.task.code, victim.log).toBe(0);
    await api(t.url, 'PATCH', `/__api__/v1/content/${victim.content.guid}/environment`, { key: t.admin.key, body: [{ name: 'VICTIM_TOKEN', value: secret }] });
    const again = await api(t.url, 'POST', `/__api__/v1/content/${victim.content.guid}/deploy`, { key: t.admin.key, body: {} });
    expect((await followTaskV1(t.url, t.admin.key, again.body.task_id)).code).toBe(0);
    attacker = await deployBundle(t.url, publisher.key, 'attacker', await flask(ATTACKER));
    expect(attacker.task.code, attacker.log).toBe(0);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The port the victim's gunicorn says it listens on. */
  async function victimPort(): Promise<number> {
    expect((await get(victim.content.content_url, t.admin.key)).status).toBe(200);
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${victim.content.guid}/jobs`, { key: t.admin.key });
    const running = jobs.body.find((j: { status: number }) => j.status === 0);
    const log = JSON.stringify(
      (await api(t.url, 'GET', `/__api__/v1/content/${victim.content.guid}/jobs/${running.key}/log`, { key: t.admin.key })).body.entries,
    );
    return Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
  }

  it("keeps one app from connecting to another app's port with a forged credentials header", async () => {
    const port = await victimPort();
    expect(port).toBeGreaterThan(0);
    const res = await get(`${attacker.content.content_url}connect?port=${port}`, publisher.key);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^REFUSED/);
    // Nor can it find the port: only its own app listens where it looks.
    const seen = JSON.parse((await get(`${attacker.content.content_url}listening`, publisher.key)).text) as number[];
    expect(seen).not.toContain(port);
    // The victim still serves through Lectern, with the credentials Lectern sets.
    expect((await get(victim.content.content_url, t.admin.key)).text).toContain('victim page for {"user":"admin"');
  });

  it("shows no item's variables or process key on any command line, and its environment only to its own uid", async () => {
    await victimPort();
    // ps as another local account: no secret in any process's arguments.
    const ps = runAsUid(65534, ['ps', '-eo', 'args', '--no-headers']);
    expect(ps.ok, ps.out).toBe(true);
    expect(ps.out).not.toContain(secret);
    expect(ps.out).not.toContain('CONNECT_API_KEY');
    // The process that holds it runs as the victim's own uid, and another item's uid cannot read it.
    const holders = pidsWithEnv(secret);
    expect(holders.length).toBeGreaterThan(0);
    const attackerUid = JSON.parse((await get(`${attacker.content.content_url}whoami`, publisher.key)).text).uid as number;
    for (const pid of holders) {
      const owner = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      expect(owner).not.toBe(0);
      expect(owner).not.toBe(attackerUid);
      expect(runAsUid(attackerUid, ['cat', `/proc/${pid}/environ`]).ok).toBe(false);
      expect(runAsUid(65534, ['cat', `/proc/${pid}/environ`]).ok).toBe(false);
    }
  });

  it('runs each item under a uid of its own', async () => {
    const a = JSON.parse((await get(`${attacker.content.content_url}whoami`, publisher.key)).text).uid as number;
    const other = await deployBundle(t.url, publisher.key, 'second', await flask(ATTACKER));
    expect(other.task.code, other.log).toBe(0);
    const b = JSON.parse((await get(`${other.content.content_url}whoami`, publisher.key)).text).uid as number;
    expect(a).toBeGreaterThanOrEqual(1_800_000_000);
    expect(b).toBeGreaterThanOrEqual(1_800_000_000);
    expect(a).not.toBe(b);
    // The same item keeps its uid across deploys.
    const again = await api(t.url, 'POST', `/__api__/v1/content/${attacker.content.guid}/deploy`, { key: publisher.key, body: {} });
    expect((await followTaskV1(t.url, publisher.key, again.body.task_id)).code).toBe(0);
    expect(JSON.parse((await get(`${attacker.content.content_url}whoami`, publisher.key)).text).uid).toBe(a);
  });

  it('serves a burst of parallel viewers through the socket bridge without refusing any', async () => {
    // One process taking every connection: the proxy opens as many to it as viewers arrive.
    const d = await deployBundle(t.url, publisher.key, 'busy', await flask(ATTACKER), { max_processes: 1, max_conns_per_process: 1000 });
    expect(d.task.code, d.log).toBe(0);
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(d.content.content_url, publisher.key)));
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
  });

  it("still reaches Lectern's own API at CONNECT_SERVER with its process key", async () => {
    const res = await get(`${attacker.content.content_url}api`, publisher.key);
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe(attacker.content.guid);
  });

  it('holds an app to its memory_limit and cpu_limit (cgroups of the server)', async () => {
    const marker = `limited-${randomBytes(6).toString('hex')}`;
    const created = await api(t.url, 'POST', '/__api__/v1/content', {
      key: publisher.key,
      body: { name: 'limited', memory_limit: 150 * 1024 * 1024, cpu_limit: 0.25 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const guid = created.body.guid as string;
    await api(t.url, 'PATCH', `/__api__/v1/content/${guid}/environment`, { key: publisher.key, body: [{ name: 'MARKER', value: marker }] });
    const up = await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, publisher.key, await flask(ATTACKER));
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${guid}/deploy`, { key: publisher.key, body: { bundle_id: up.body.id } });
    const task = await followTaskV1(t.url, publisher.key, dep.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);
    expect((await get(`${created.body.content_url}alloc?mb=10`, publisher.key)).text).toBe(`allocated ${10 * 1024 * 1024}`);
    // Past the limit the kernel stops it: the request fails instead of the host running short.
    const big = await get(`${created.body.content_url}alloc?mb=400`, publisher.key);
    expect(big.text).not.toContain('allocated');
    // Every process of the app is in a cgroup with the quota (read on the host, as an administrator would).
    const pids = pidsWithEnv(marker);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) {
      const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
      const cpu = lines.find((l) => /:cpu[,:]|:cpu,cpuacct:/.test(l))?.split(':')[2];
      const memory = lines.find((l) => /:memory:/.test(l))?.split(':')[2];
      expect(readFileSync(`/sys/fs/cgroup/cpu/${cpu}/cpu.cfs_quota_us`, 'utf8').trim()).toBe('25000');
      expect(readFileSync(`/sys/fs/cgroup/memory/${memory}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(150 * 1024 * 1024));
    }
  });
});
