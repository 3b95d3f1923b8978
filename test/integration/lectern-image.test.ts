import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBundle, staticBundle } from '../helpers/bundles.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { REPO } from '../helpers/process.ts';

/**
 * Lectern's own image (the Dockerfile at the root), as docs/install.md builds and runs it: FROM
 * the runtime image `lectern runtimes build` made (the suite's global setup), with Node.js from
 * a stand-in for node:20-bookworm-slim made of this machine's Node.js (scripts/node-image.sh:
 * no Docker Hub here). Everything made here has a name of this run's own and is removed by it.
 */
const docker = new Docker();
const run = randomBytes(4).toString('hex');
const NODE_IMAGE = `lectern-test-node-${run}`;
const IMAGE = `lectern-test-image-${run}`;
const VOLUME = `lectern-test-data-${run}`;
const containers: string[] = [];

/** A command's exit code and the end of its output (a build prints thousands of lines). */
function sh(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer) => {
      out = (out + String(b)).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/**
 * The CA certificates this machine adds to Debian's (/usr/local/share/ca-certificates): here,
 * the egress proxy's, which re-signs the npm registry's certificate. The build's `npm ci` trusts
 * them through the Dockerfile's EXTRA_CA_CERTS, as docs/install.md tells people behind such a proxy.
 */
function localCaCerts(): string {
  const dir = '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return '';
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.crt') && statSync(p).isFile()) files.push(p);
    }
  };
  walk(dir);
  return files
    .sort()
    .map((f) => readFileSync(f, 'utf8').trim())
    .join('\n');
}

/** A container's log so far (both streams; Docker frames each piece with an 8-byte header). */
async function logsOf(c: Docker.Container): Promise<string> {
  const raw = await c.logs({ stdout: true, stderr: true });
  let out = '';
  for (let i = 0; i + 8 <= raw.length;) {
    const size = raw.readUInt32BE(i + 4);
    out += raw.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return out;
}

/** Starts a container of the image on free loopback ports (`sandboxable`: with docs/install.md's two options for bubblewrap); its ports and when it started. */
async function startLectern(opts: { binds?: string[]; sandboxable?: boolean; env?: string[] }) {
  const c = await docker.createContainer({
    Image: IMAGE,
    Env: opts.env ?? [],
    ExposedPorts: { '3939/tcp': {}, '3940/tcp': {} },
    HostConfig: {
      PortBindings: { '3939/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }], '3940/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      Binds: opts.binds ?? [],
      // `docker run --security-opt seccomp=unconfined --security-opt systempaths=unconfined`:
      // systempaths is the client's word for empty masked and read-only path lists.
      ...(opts.sandboxable ? { SecurityOpt: ['seccomp=unconfined'], MaskedPaths: [], ReadonlyPaths: [] } : {}),
    },
  });
  containers.push(c.id);
  const startedAt = Date.now();
  await c.start();
  const ports = (await c.inspect()).NetworkSettings.Ports;
  const url = `http://127.0.0.1:${ports['3939/tcp']?.[0]?.HostPort}`;
  const contentUrl = `http://127.0.0.1:${ports['3940/tcp']?.[0]?.HostPort}`;
  return { c, url, contentUrl, startedAt };
}

/**
 * Waits until both ports answer HTTP (Lectern's /__ping__, and anything at all from the content
 * origin, whose proxy workers listen a moment later); fails at once, with the log, if the
 * container stops. Docker's port forwarder accepts before the server listens: a connection
 * is no answer.
 */
async function answering(l: { c: Docker.Container; url: string; contentUrl: string }, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs;
  const answers = (url: string, ok: (r: Response) => boolean) =>
    fetch(url).then(
      (r) => ok(r),
      () => false,
    );
  for (;;) {
    if ((await answers(`${l.url}/__ping__`, (r) => r.ok)) && (await answers(`${l.contentUrl}/`, () => true))) return;
    const state = (await l.c.inspect()).State;
    if (!state.Running) throw new Error(`the container stopped (exit code ${state.ExitCode}):\n${await logsOf(l.c)}`);
    if (Date.now() > until) throw new Error(`no answer on ${l.url} and ${l.contentUrl} within ${withinMs / 1000} s:\n${await logsOf(l.c)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The first run's banner (src/main.ts): printed once the server listens. */
async function firstRunKey(c: Docker.Container, withinMs: number): Promise<string> {
  const until = Date.now() + withinMs;
  for (;;) {
    const key = /^ {2}API key: +(\S+)$/m.exec(await logsOf(c))?.[1];
    if (key) return key;
    if (Date.now() > until) throw new Error(`no first-run banner within ${withinMs / 1000} s:\n${await logsOf(c)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `docker exec`: the command's exit code and output, as the image's user. */
function exec(c: Docker.Container, cmd: string[]) {
  return sh('docker', ['exec', c.id, ...cmd]);
}

// A Flask app that says whom it runs as and whether it sees Lectern's database.
const FLASK_APP = [
  'import os',
  'from flask import Flask',
  'app = Flask(__name__)',
  "@app.route('/')",
  'def who():',
  "    return {'uid': os.getuid(), 'database': os.path.exists('/var/lib/lectern/lectern.db')}",
].join('\n');
const flaskBundle = () =>
  makeBundle(
    { 'requirements.txt': 'flask\n', 'app.py': FLASK_APP },
    { appmode: 'python-api', entrypoint: 'app:app' },
    { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
  );
// Debian's Flask, in the image: no package index needed.
const NO_ENV_MANAGEMENT = 'LECTERN_PYTHON_ENVIRONMENT_MANAGEMENT=false';

describe('the Lectern image', () => {
  afterAll(async () => {
    for (const id of containers) await docker.getContainer(id).remove({ force: true, v: true });
    await docker
      .getVolume(VOLUME)
      .remove()
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw err;
      });
    // By this run's own tags. noprune: the layers beneath stay as the build cache, so the next
    // run builds in seconds (`docker image prune` clears them).
    for (const tag of [IMAGE, NODE_IMAGE])
      await docker
        .getImage(tag)
        .remove({ noprune: true })
        .catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 404) throw err;
        });
  }, 120_000);

  it('builds FROM the runtime image, runs unprivileged with its data on a volume, and serves a deploy', { timeout: 30 * 60_000 }, async () => {
    const stand = await sh('bash', ['scripts/node-image.sh', NODE_IMAGE]);
    expect(stand.code, stand.out).toBe(0);

    const buildStart = Date.now();
    // The legacy builder, as Debian's engine (no BuildKit) needs it.
    const build = await sh(
      'docker',
      ['build', '-t', IMAGE, '--build-arg', `NODE_IMAGE=${NODE_IMAGE}`, '--build-arg', `EXTRA_CA_CERTS=${localCaCerts()}`, '.'],
      {
        DOCKER_BUILDKIT: '0',
      },
    );
    expect(build.code, build.out).toBe(0);
    const buildSeconds = (Date.now() - buildStart) / 1000;

    const image = await docker.getImage(IMAGE).inspect();
    expect(image.Config.User).toBe('lectern');
    expect(Object.keys(image.Config.ExposedPorts ?? {}).sort()).toEqual(['3939/tcp', '3940/tcp']);
    expect(Object.keys(image.Config.Volumes ?? {})).toEqual(['/var/lib/lectern']);
    expect(image.Config.Env).toContain('LECTERN_DATA_DIR=/var/lib/lectern');
    const health = (image.Config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test ?? [];
    expect(health.join(' ')).toContain('/__ping__');

    // As docs/install.md runs it: the data on a named volume, nothing else.
    await docker.createVolume({ Name: VOLUME });
    const a = await startLectern({ binds: [`${VOLUME}:/var/lib/lectern`] });
    await answering(a, 180_000);
    const answeredSeconds = (Date.now() - a.startedAt) / 1000;
    const key = await firstRunKey(a.c, 60_000);
    console.log(
      `lectern image: built in ${buildSeconds.toFixed(0)} s, ${(image.Size / 1e9).toFixed(2)} GB; answered ${answeredSeconds.toFixed(1)} s after docker start`,
    );

    const page = `<h1>served from the image ${run}</h1>`;
    const site = await deployBundle(a.url, key, `image-site-${run}`, await staticBundle(page));
    expect(site.task.code, site.log).toBe(0);
    const served = await get(`${a.contentUrl}/content/${site.content.guid}/`, key);
    expect(served.status, served.text).toBe(200);
    expect(served.text).toContain(page);

    // Every process in the container (tini, the server, its proxy workers, this exec) is uid 10000.
    const uids = await exec(a.c, ['sh', '-c', "grep -h '^Uid:' /proc/[0-9]*/status"]);
    expect(uids.code, uids.out).toBe(0);
    const lines = uids.out.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(l.split(/\s+/).slice(1)).toEqual(['10000', '10000', '10000', '10000']);
    const owner = await exec(a.c, ['stat', '-c', '%u %a', '/var/lib/lectern', '/var/lib/lectern/lectern.db']);
    expect(owner.out.trim().split('\n')[0]).toBe('10000 700');
    expect(owner.out).toMatch(/\n10000 6[04]0\n?$/);

    // The health check the image declares passes (run now: the engine's first is 30 s away).
    const probe = await exec(a.c, health.slice(1));
    expect(probe.code, probe.out).toBe(0);

    // The CLI is there, on the same data: nothing to migrate on a fresh database.
    const migrate = await exec(a.c, ['lectern', 'migrate', '--dry-run']);
    expect(migrate.code, migrate.out).toBe(0);

    // Docker's default seccomp profile refuses the user namespace bubblewrap needs: content
    // that runs a process fails, with bubblewrap's reason, rather than running unsandboxed.
    const refused = await deployBundle(a.url, key, `image-flask-refused-${run}`, await flaskBundle());
    expect(refused.task.code, refused.log).not.toBe(0);
    expect(refused.log).toContain('No permissions to create new namespace');

    // A new container on the same volume (an upgrade's shape): the data, no new administrator.
    await a.c.stop({ t: 30 });
    const b = await startLectern({ binds: [`${VOLUME}:/var/lib/lectern`] });
    await answering(b, 180_000);
    expect((await get(`${b.contentUrl}/content/${site.content.guid}/`, key)).text).toContain(page);
    expect(await logsOf(b.c)).not.toContain('Lectern first run');

    // With the two options docs/install.md gives for the local backend's sandbox, content runs
    // in bubblewrap: as the server's uid, without sight of its data directory.
    const s = await startLectern({ sandboxable: true, env: [NO_ENV_MANAGEMENT] });
    await answering(s, 180_000);
    const sKey = await firstRunKey(s.c, 60_000);
    const app = await deployBundle(s.url, sKey, `image-flask-${run}`, await flaskBundle());
    expect(app.task.code, app.log).toBe(0);
    const who = await get(`${s.contentUrl}/content/${app.content.guid}/`, sKey);
    expect(who.status, who.text).toBe(200);
    expect(JSON.parse(who.text)).toEqual({ uid: 10000, database: false });
  });
});
