import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { rSourceRepository } from '../helpers/r-repository.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { followTaskV1 } from '../helpers/tasks.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// A package from the configured index whose build step (setup.py) looks for other processes'
// command lines and environments, as the review's package did, and prints what it found into
// its publisher's deploy log (pip shows a failed build's output).
const SNOOP = `
seen = []
pids = [p for p in os.listdir('/proc') if p.isdigit()]
for p in pids:
    for f in ('cmdline', 'environ'):
        try:
            seen.append('%s/%s: %s' % (p, f, open('/proc/%s/%s' % (p, f), 'rb').read().replace(b'\\0', b' ').decode('latin1')[:2000]))
        except Exception as e:
            seen.append('%s/%s: %s' % (p, f, type(e).__name__))
print('SNOOP-PIDS %d' % len(pids))
print('SNOOP-UID %d' % os.getuid())
try:
    open('/etc/lectern-snoop', 'w').write('x')
    print('SNOOP-WRITE-ETC written')
except OSError as e:
    print('SNOOP-WRITE-ETC ' + type(e).__name__)
for line in seen:
    print('SNOOP-SEEN ' + line)
sys.exit(1)
`;

/** A source distribution whose setup.py runs `body` when pip builds it, in a file: index. */
async function sdist(index: string, name: string, body: string): Promise<void> {
  const src = mkdtempSync(path.join(os.tmpdir(), 'lectern-sdist-'));
  const root = path.join(src, `${name}-1.0`);
  mkdirSync(root);
  writeFileSync(path.join(root, 'PKG-INFO'), `Metadata-Version: 1.0\nName: ${name}\nVersion: 1.0\n`);
  writeFileSync(
    path.join(root, 'setup.py'),
    ['import os, sys', body, 'from setuptools import setup', `setup(name=${JSON.stringify(name)}, version="1.0")`, ''].join('\n'),
  );
  mkdirSync(path.join(index, 'files'), { recursive: true });
  const archive = path.join(index, 'files', `${name}-1.0.tar.gz`);
  await tar.c({ gzip: true, file: archive, cwd: src, portable: true }, [`${name}-1.0`]);
  const sha = createHash('sha256').update(readFileSync(archive)).digest('hex');
  mkdirSync(path.join(index, 'simple', name), { recursive: true });
  writeFileSync(
    path.join(index, 'simple', name, 'index.html'),
    `<!DOCTYPE html><html><body><a href="../../files/${name}-1.0.tar.gz#sha256=${sha}">${name}-1.0.tar.gz</a></body></html>\n`,
  );
  execFileSync('chmod', ['-R', 'a+rX', index]);
  rmSync(src, { recursive: true, force: true });
}

/** A CRAN-like repository on disk with lectsnoop 0.1.0, whose configure script snoops likewise. */
function rRepository(repo: string): void {
  const configure = [
    '#!/bin/sh',
    'echo "SNOOP-PIDS $(ls /proc | grep -c \'^[0-9]\')"',
    'echo "SNOOP-UID $(id -u)"',
    "for p in /proc/[0-9]*; do echo \"SNOOP-SEEN $p $(tr '\\0' ' ' < $p/cmdline 2>&1) $(tr '\\0' ' ' < $p/environ 2>&1)\"; done",
    'exit 1',
    '',
  ].join('\n');
  rSourceRepository(repo, 'lectsnoop', configure);
}

/** What the review's package printed, checked: its own tree only, no secret, not root. */
function expectConfined(log: string, secrets: string[]) {
  expect(log, log).toContain('SNOOP-PIDS');
  const pids = Number(/SNOOP-PIDS (\d+)/.exec(log)?.[1]);
  expect(pids).toBeGreaterThan(0);
  // The installer's own tree (R: Rscript, R CMD INSTALL, its shells, configure) is a handful;
  // the host runs the server, the database, the victim and the rest.
  const host = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  expect(pids).toBeLessThan(30);
  expect(pids).toBeLessThan(host / 2);
  for (const s of secrets) expect(log).not.toContain(s);
  expect(log).not.toContain('vitest');
  expect(log).not.toContain('gunicorn');
  // The build ran as the publisher's item's own account, not root and not the victim's.
  expect(Number(/SNOOP-UID (\d+)/.exec(log)?.[1])).toBeGreaterThanOrEqual(1_800_000_000);
}

const VICTIM = "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    return 'victim'\n";

const pythonBundle = (requirements: string, app: string) =>
  makeBundle(
    { 'requirements.txt': requirements, 'app.py': app },
    { appmode: 'python-api', entrypoint: 'app:app' },
    { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
  );

describe.each(DATABASES)('package builds in the sandbox on %s', (kind) => {
  let t: TestServer;
  let index: string;
  let repo: string;
  const secret = `victim-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    expect(process.getuid?.(), 'Lectern runs as root here, as in production').toBe(0);
    index = mkdtempSync(path.join(os.tmpdir(), 'lectern-snoop-index-'));
    chmodSync(index, 0o755);
    await sdist(index, 'snooppkg', SNOOP);
    repo = mkdtempSync(path.join(os.tmpdir(), 'lectern-snoop-repo-'));
    chmodSync(repo, 0o755);
    rRepository(repo);
    t = await startTestServer(kind, { config: { runtime: { pythonIndexUrl: `file://${index}/simple`, rRepository: `file://${repo}` } } as never });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(index, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("cannot see another process's command line or environment, nor write the system", async () => {
    // An administrator's app with a secret variable, running.
    const victim = await deployBundle(t.url, t.admin.key, 'victim', await pythonBundle('flask\n', VICTIM));
    expect(victim.task.code, victim.log).toBe(0);
    await api(t.url, 'PATCH', `/__api__/v1/content/${victim.content.guid}/environment`, { key: t.admin.key, body: [{ name: 'VICTIM_TOKEN', value: secret }] });
    const again = await api(t.url, 'POST', `/__api__/v1/content/${victim.content.guid}/deploy`, { key: t.admin.key, body: {} });
    expect((await followTaskV1(t.url, t.admin.key, again.body.task_id)).code).toBe(0);
    expect((await get(victim.content.content_url, t.admin.key)).text).toBe('victim');

    const publisher = await t.createUser('builder', 'publisher');
    const attack = await deployBundle(t.url, publisher.key, 'snooper', await pythonBundle('snooppkg\n', VICTIM));
    expect(attack.task.code).not.toBe(0);
    // Its own process tree only: pip, its build backend and setup.py, not a server's worth.
    expectConfined(attack.log, [secret, t.admin.key]);
    expect(attack.log).toMatch(/SNOOP-WRITE-ETC (OSError|PermissionError)/);

    // The same for an R package's configure script.
    const r = await deployBundle(
      t.url,
      publisher.key,
      'r-snooper',
      await makeBundle(
        { 'plumber.R': '#* @get /\nfunction() "hi"\n' },
        { appmode: 'api', primary_rmd: null, entrypoint: 'plumber.R' },
        {
          platform: '4.2.2',
          packages: { lectsnoop: { Source: 'CRAN', Repository: null, description: { Package: 'lectsnoop', Version: '0.1.0' } } },
        },
      ),
    );
    expect(r.task.code).not.toBe(0);
    expectConfined(r.log, [secret, t.admin.key]);
  });
});

/** A package index over HTTP on the loopback, serving `dir` as it is on disk. */
async function serveIndex(dir: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(dir)) return void res.writeHead(404).end();
    try {
      const target = statSync(file).isDirectory() ? path.join(file, 'index.html') : file;
      res.writeHead(200, { 'content-type': target.endsWith('.html') ? 'text/html' : 'application/octet-stream' }).end(readFileSync(target));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

describe.each(DATABASES)('the network of package builds on %s', (kind) => {
  let t: TestServer;
  let index: string;
  let served: Awaited<ReturnType<typeof serveIndex>>;

  beforeAll(async () => {
    index = mkdtempSync(path.join(os.tmpdir(), 'lectern-http-index-'));
    chmodSync(index, 0o755);
    served = await serveIndex(index);
    t = await startTestServer(kind, { config: { runtime: { pythonIndexUrl: `http://127.0.0.1:${served.port}/simple` } } as never });
    // Tries the index (allowed), Lectern's own API and a direct connection (both refused).
    await sdist(
      index,
      'netprobe',
      `
import socket, urllib.request
def fetch(url):
    try:
        return 'OK %d' % urllib.request.urlopen(url, timeout=5).status
    except Exception as e:
        return 'REFUSED ' + str(e)[:120]
def direct(port):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(('127.0.0.1', port))
        return 'CONNECTED'
    except Exception as e:
        return 'REFUSED ' + type(e).__name__
print('PROBE-INDEX ' + fetch('http://127.0.0.1:${served.port}/simple/netprobe/'))
print('PROBE-LECTERN ' + fetch('${t.url}/__ping__'))
print('PROBE-DIRECT ' + direct(${served.port}))
sys.exit(1)
`,
    );
  });
  afterAll(async () => {
    await t?.close();
    await served?.close();
    rmSync(index, { recursive: true, force: true });
  });

  it('reach the package index through the server and nothing else: not Lectern, not the host directly', async () => {
    const publisher = await t.createUser('prober', 'publisher');
    const d = await deployBundle(t.url, publisher.key, 'prober', await pythonBundle('netprobe\n', VICTIM));
    expect(d.task.code).not.toBe(0);
    // pip fetched the package through the proxy, and so could the build script.
    expect(d.log, d.log).toContain('PROBE-INDEX OK 200');
    expect(d.log).toMatch(/PROBE-LECTERN REFUSED .*403/);
    expect(d.log).toMatch(/PROBE-DIRECT REFUSED/);
  });
});
