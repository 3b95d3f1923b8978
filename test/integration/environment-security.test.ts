import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestoredEnvironment } from '../../runtimes/environments/environment.ts';
import { createPythonRestorer } from '../../runtimes/environments/python-env.ts';
import type { InstallAccount } from '../../runtimes/environments/install-area.ts';
import { createRRestorer } from '../../runtimes/environments/r-env.ts';
import type { Interpreter } from '../../runtimes/interpreters.ts';
import { parseManifest, type Manifest } from '../../src/domain/manifest.ts';
import { rSourceRepository } from '../helpers/r-repository.ts';

// What a bundle's dependencies can do while their environment is built, run for real: package
// build code (a setup.py, an R configure script) runs as the unprivileged account, never as
// root; the environment it leaves is root's and read-only; requirements files cannot reach
// beyond the configured index. Lectern runs as root in production; these tests must too.

const PY: Interpreter = { language: 'python', path: '/usr/bin/python3', version: '3.11.2' };
const R: Interpreter = { language: 'r', path: '/usr/bin/R', version: '4.2.2' };

let scratch: string;
/** Stands for Lectern's data directory: root's, 0700, out of the account's reach. */
let dataDir: string;
/** Where builds happen: must be empty after every build. */
let buildRoot: string;
/** setup.py and configure write what they saw here (0777). */
let out: string;
/** A directory only root may write: the installers must not manage to. */
let rootOnly: string;
let account: InstallAccount;
let indexUrl: string;
let evilSha256: string;
let shadowBefore: number[];

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
}

function newDir(parent: string, prefix: string, mode = 0o755): string {
  const dir = mkdtempSync(path.join(parent, prefix));
  chmodSync(dir, mode);
  return dir;
}

/** A bundle with a requirements.txt (and other files), as rsconnect-python makes them. */
function bundle(files: Record<string, string>): { dir: string; manifest: Manifest } {
  const dir = newDir(dataDir, 'bundle-', 0o700);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  const manifest = parseManifest(
    JSON.stringify({
      version: 1,
      metadata: { appmode: 'python-api', entrypoint: 'app' },
      python: { version: '3.11.2', package_manager: { name: 'pip', version: '23.0.1', package_file: 'requirements.txt' } },
      files: Object.fromEntries(Object.keys(files).map((f) => [f, { checksum: '0' }])),
    }),
  );
  return { dir, manifest };
}

/** Every file under dir, with lstat. */
function walk(dir: string): Array<{ file: string; info: Stats }> {
  const all: Array<{ file: string; info: Stats }> = [{ file: dir, info: lstatSync(dir) }];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const info = lstatSync(file);
    if (info.isDirectory()) all.push(...walk(file));
    else all.push({ file, info });
  }
  return all;
}

/** Root's, nothing writable by group or others, no set-id bits, directories 0755. */
function expectRootOwnedReadOnly(dir: string) {
  const files = walk(dir);
  expect(files.length).toBeGreaterThan(3);
  const wrong = files.filter(({ info }) => {
    if (info.uid !== 0 || info.gid !== 0) return true;
    if (info.isSymbolicLink()) return false;
    if (info.isDirectory()) return (info.mode & 0o7777) !== 0o755;
    return ![0o644, 0o755].includes(info.mode & 0o7777);
  });
  expect(wrong.map(({ file, info }) => `${file} ${info.uid}:${info.gid} ${(info.mode & 0o7777).toString(8)}`)).toEqual([]);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** A source distribution whose setup.py runs `body` (Python) when pip builds it. */
async function sdist(index: string, name: string, body: string, extra = ''): Promise<string> {
  const src = newDir(scratch, 'src-');
  const root = path.join(src, `${name}-1.0`);
  mkdirSync(root);
  writeFileSync(path.join(root, 'PKG-INFO'), `Metadata-Version: 1.0\nName: ${name}\nVersion: 1.0\n`);
  writeFileSync(path.join(root, `${name}mod.py`), 'def main():\n    print("hello")\n');
  writeFileSync(
    path.join(root, 'setup.py'),
    [
      'import json, os, subprocess, sys',
      'from setuptools import setup',
      body,
      `setup(name=${JSON.stringify(name)}, version="1.0", py_modules=[${JSON.stringify(`${name}mod`)}]${extra})`,
      '',
    ].join('\n'),
  );
  const files = path.join(index, 'files');
  mkdirSync(files, { recursive: true });
  const archive = path.join(files, `${name}-1.0.tar.gz`);
  await tar.c({ gzip: true, file: archive, cwd: src, portable: true }, [`${name}-1.0`]);
  const sha = createHash('sha256').update(readFileSync(archive)).digest('hex');
  mkdirSync(path.join(index, 'simple', name), { recursive: true });
  writeFileSync(
    path.join(index, 'simple', name, 'index.html'),
    `<!DOCTYPE html><html><body><a href="../../files/${name}-1.0.tar.gz#sha256=${sha}">${name}-1.0.tar.gz</a></body></html>\n`,
  );
  execFileSync('chmod', ['-R', 'a+rX', index]);
  return sha;
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('These tests run installers as another account: run them as root (as Lectern runs in production).');
  account = { uid: idOf('-u'), gid: idOf('-g') };
  const shadow = statSync('/etc/shadow');
  shadowBefore = [shadow.uid, shadow.gid, shadow.mode];
  expect(account.uid).not.toBe(0);
  scratch = newDir(os.tmpdir(), 'lectern-envsec-');
  dataDir = newDir(scratch, 'data-', 0o700);
  buildRoot = newDir(scratch, 'build-');
  out = newDir(scratch, 'out-', 0o777);
  rootOnly = newDir(scratch, 'root-only-', 0o700);
  const index = newDir(scratch, 'index-');
  indexUrl = `file://${index}/simple`;

  // evilpkg: records who runs it, tries to escape, and leaves traps in the environment.
  evilSha256 = await sdist(
    index,
    'evilpkg',
    `
OUT = ${JSON.stringify(out)}
rec = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "home": os.environ.get("HOME"), "tmpdir": os.environ.get("TMPDIR"), "prefix": sys.prefix, "cwd": os.getcwd()}
try:
    open(os.path.join(${JSON.stringify(rootOnly)}, "pwned"), "w").write("x")
    rec["rootWrite"] = "written"
except OSError as e:
    rec["rootWrite"] = str(e)
try:
    os.listdir(${JSON.stringify(dataDir)})
    rec["dataDir"] = "listed"
except OSError as e:
    rec["dataDir"] = str(e)
share = os.path.join(sys.prefix, "share")
os.makedirs(os.path.join(share, "open-dir"), exist_ok=True)
os.chmod(os.path.join(share, "open-dir"), 0o777)
with open(os.path.join(share, "setuid-file"), "w") as f:
    f.write("#!/bin/sh\\n")
os.chmod(os.path.join(share, "setuid-file"), 0o4777)
if not os.path.lexists(os.path.join(share, "shadow")):
    os.symlink("/etc/shadow", os.path.join(share, "shadow"))
# Not holding pip's output open (pip would wait for it): only left running in the group.
child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
rec["child"] = child.pid
with open(os.path.join(OUT, "evilpkg.json"), "w") as f:
    json.dump(rec, f)
`,
    ', entry_points={"console_scripts": ["evil-hello=evilpkgmod:main"]}',
  );

  // linkpkg: hard-links a file of the account's from outside into the environment.
  const outside = path.join(newDir(scratch, 'outside-'), 'accounts-file');
  writeFileSync(outside, 'the account owns this, elsewhere\n', { mode: 0o600 });
  chownSync(outside, account.uid, account.gid);
  await sdist(
    index,
    'linkpkg',
    `os.makedirs(os.path.join(sys.prefix, "share"), exist_ok=True)\nif not os.path.exists(os.path.join(sys.prefix, "share", "linked")):\n    os.link(${JSON.stringify(outside)}, os.path.join(sys.prefix, "share", "linked"))\n`,
  );
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const python = (envRoot: string, extra: Partial<Parameters<typeof createPythonRestorer>[0]> = {}) =>
  createPythonRestorer({ envRoot, indexUrl, runAs: account, buildRoot, retries: 0, ...extra });

describe('Python environments built as an unprivileged account', () => {
  it("runs a source distribution's setup.py as the account, in a private HOME, and leaves a root-owned, read-only environment", async () => {
    const envRoot = path.join(dataDir, 'envs', 'python');
    const b = bundle({ 'requirements.txt': 'evilpkg\n' });
    const logs: string[] = [];
    const env = await python(envRoot).restore({ interpreter: PY, bundleDir: b.dir, manifest: b.manifest, managed: true, log: (l) => logs.push(l) });
    expect(env.reused).toBe(false);
    expect(logs.join('\n')).toContain(`as an unprivileged account (uid ${account.uid})`);
    expect(logs.join('\n')).toMatch(/Successfully installed evilpkg-1\.0/);

    const rec = JSON.parse(readFileSync(path.join(out, 'evilpkg.json'), 'utf8')) as Record<string, unknown>;
    expect(rec.uid).toBe(account.uid);
    expect(rec.gid).toBe(account.gid);
    expect(rec.groups).not.toContain(0);
    expect(rec.rootWrite).toMatch(/Permission denied/);
    expect(existsSync(path.join(rootOnly, 'pwned'))).toBe(false);
    expect(rec.dataDir).toMatch(/Permission denied/);
    // Built outside the data directory, with a HOME and TMPDIR of its own there.
    expect(rec.home).toMatch(new RegExp(`^${buildRoot}/lectern-build-[^/]+/[0-9a-f]{32}$`));
    expect(rec.tmpdir).toBe(rec.home);
    expect(String(rec.prefix).startsWith(`${buildRoot}/lectern-build-`)).toBe(true);
    // What it started in the background died with the build.
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(rec.child as number)).toBe(false);

    // The environment: root's, read-only, its traps defused, the links not followed.
    expectRootOwnedReadOnly(env.dir!);
    const share = path.join(env.dir!, 'share');
    expect(statSync(path.join(share, 'open-dir')).mode & 0o7777).toBe(0o755);
    expect(statSync(path.join(share, 'setuid-file')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(path.join(share, 'shadow')).isSymbolicLink()).toBe(true);
    const shadow = statSync('/etc/shadow');
    expect([shadow.uid, shadow.gid, shadow.mode]).toEqual(shadowBefore);
    // Scripts name where the environment is, not the build directory.
    expect(readFileSync(path.join(env.dir!, 'bin', 'evil-hello'), 'utf8').split('\n')[0]).toBe(`#!${env.dir}/bin/python`);
    expect(execFileSync(env.executable, ['-c', 'import importlib.metadata as m; print(m.version("evilpkg"))'], { encoding: 'utf8' }).trim()).toBe('1.0');
    expect(execFileSync(path.join(env.dir!, 'bin', 'evil-hello'), { encoding: 'utf8' }).trim()).toBe('hello');

    // Nothing left behind: no build area, no shared pip cache the account could poison.
    expect(readdirSync(buildRoot)).toEqual([]);
    expect(readdirSync(envRoot).sort()).toEqual([env.key]);

    // Reused as it is.
    const again = await python(envRoot).restore({ interpreter: PY, bundleDir: b.dir, manifest: b.manifest, managed: true, log: () => {} });
    expect(again).toMatchObject({ key: env.key, reused: true });
  });

  it('accepts --hash options, and pip enforces them', async () => {
    const envRoot = path.join(dataDir, 'envs', 'python-hash');
    const good = bundle({ 'requirements.txt': `evilpkg==1.0 \\\n    --hash=sha256:${evilSha256}\n` });
    const env = await python(envRoot).restore({ interpreter: PY, bundleDir: good.dir, manifest: good.manifest, managed: true, log: () => {} });
    expectRootOwnedReadOnly(env.dir!);
    const bad = bundle({ 'requirements.txt': `evilpkg==1.0 --hash=sha256:${'0'.repeat(64)}\n` });
    const message = await python(envRoot)
      .restore({ interpreter: PY, bundleDir: bad.dir, manifest: bad.manifest, managed: true, log: () => {} })
      .then(
        () => 'restored',
        (e: Error) => e.message,
      );
    expect(message).toMatch(/DO NOT MATCH THE HASHES/);
    expect(readdirSync(buildRoot)).toEqual([]);
  });

  it('refuses an environment the installer hard-linked an outside file into, and leaves that file alone', async () => {
    const envRoot = path.join(dataDir, 'envs', 'python-link');
    const b = bundle({ 'requirements.txt': 'linkpkg\n' });
    const message = await python(envRoot)
      .restore({ interpreter: PY, bundleDir: b.dir, manifest: b.manifest, managed: true, log: () => {} })
      .then(
        () => 'restored',
        (e: Error) => e.message,
      );
    expect(message).toMatch(/share\/linked hard-linked to a file outside the environment/);
    const outside = readdirSync(scratch)
      .filter((n) => n.startsWith('outside-'))
      .map((n) => path.join(scratch, n, 'accounts-file'))[0]!;
    const info = statSync(outside);
    expect([info.uid, info.mode & 0o7777]).toEqual([account.uid, 0o600]);
    expect(existsSync(envRoot) ? readdirSync(envRoot) : []).toEqual([]);
    expect(readdirSync(buildRoot)).toEqual([]);
  });

  it('says so when the account could not reach the build directory (inside the data directory)', async () => {
    const b = bundle({ 'requirements.txt': 'flask\n' });
    const message = await python(path.join(dataDir, 'envs', 'python-unreachable'), { buildRoot: path.join(dataDir, 'builds') })
      .restore({ interpreter: PY, bundleDir: b.dir, manifest: b.manifest, managed: true, log: () => {} })
      .then(
        () => 'restored',
        (e: Error) => e.message,
      );
    expect(message).toContain(
      `Environments are built in ${dataDir}/builds, which the installer account (uid ${account.uid}) cannot reach: ${dataDir} is mode 700.`,
    );
  });

  it('installs a requirements file of comments, specifiers, extras, markers and continuations (Flask from Debian)', async () => {
    const envRoot = path.join(dataDir, 'envs', 'python-good');
    const empty = newDir(scratch, 'empty-index-');
    const b = bundle({
      'requirements.txt': [
        '# the web app',
        '',
        'flask  # unpinned: Debian has it',
        'Jinja2 >=3.0, <4',
        'itsdangerous (>=2.0)',
        'click \\',
        '    >=8.0',
        'werkzeug[watchdog]; python_version < "3"',
        'gunicorn; python_version >= "3.8" and sys_platform == "linux"',
        '',
      ].join('\n'),
    });
    const logs: string[] = [];
    const env = await python(envRoot, { indexUrl: `file://${empty}` }).restore({
      interpreter: PY,
      bundleDir: b.dir,
      manifest: b.manifest,
      managed: true,
      log: (l) => logs.push(l),
    });
    expect(logs.join('\n')).toMatch(/Requirement already satisfied: flask in \/usr\/lib\/python3\/dist-packages/);
    expect(logs.join('\n')).toMatch(/Ignoring werkzeug: markers 'python_version < "3"' don't match your environment/);
    expectRootOwnedReadOnly(env.dir!);
    expect(execFileSync(env.executable, ['-c', 'import flask, gunicorn, sys; print(sys.prefix)'], { encoding: 'utf8' }).trim()).toBe(env.dir);
  });
});

describe('the requirements policy', () => {
  const cases: Array<[string, RegExp]> = [
    ['-r base.txt', /reads another file/],
    ['--requirement=base.txt', /reads another file/],
    ['-c constraints.txt', /reads another file/],
    ['-i https://pypi.example/simple', /changes where packages come from/],
    ['--index-url https://pypi.example/simple', /changes where packages come from/],
    ['--extra-index-url https://pypi.example/simple', /changes where packages come from/],
    ['-f /opt/wheels', /changes where packages come from/],
    ['--find-links https://example.com/wheels', /changes where packages come from/],
    ['--trusted-host pypi.example', /changes where packages come from/],
    ['--no-index', /changes where packages come from/],
    ['-e .', /installs from a path or a version-control repository/],
    ['--editable git+https://example.com/x.git#egg=x', /installs from a path or a version-control repository/],
    ['--pre', /is a pip option/],
    ['evil @ file:///tmp/evilpkg', /installs from a URL, a version-control repository or a file/],
    ['evil @ https://example.com/evil-1.0.tar.gz', /installs from a URL/],
    ['https://example.com/evil-1.0-py3-none-any.whl', /installs from a URL/],
    ['git+https://example.com/evil.git', /installs from a URL/],
    ['./evilpkg', /installs from a URL/],
    ['/abs/evilpkg', /installs from a URL/],
    ['file:evilpkg', /installs from a URL/],
    ['evilpkg-1.0.tar.gz', /installs from a URL/],
    ['evilpkg --config-settings=x=y', /the only option a requirement may carry here is --hash/],
    ['evilpkg --hash=md5:0123', /not <sha256\|sha384\|sha512>/],
    ['evilpkg; __import__("os").system("id")', /environment marker/],
    ['evil pkg', /is not a requirement this server reads/],
  ];

  it('refuses each kind of line with its number, its text and why, before anything runs', async () => {
    const envRoot = path.join(dataDir, 'envs', 'python-policy');
    for (const [line, why] of cases) {
      const b = bundle({ 'requirements.txt': `flask\n${line}\n`, 'base.txt': 'evilpkg\n', 'constraints.txt': '' });
      const logs: string[] = [];
      const message = await python(envRoot)
        .restore({ interpreter: PY, bundleDir: b.dir, manifest: b.manifest, managed: true, log: (l) => logs.push(l) })
        .then(
          () => 'restored',
          (e: Error) => e.message,
        );
      expect(message, line).toContain(`The bundle's requirements.txt has a line this server does not install:\n  line 2: ${line}\n`);
      expect(message, line).toMatch(why);
      expect(message, line).toMatch(/To fix it:[\s\S]*environment management off/);
      expect(
        logs.some((l) => l.startsWith('Creating the Python environment')),
        line,
      ).toBe(false);
    }
    expect(existsSync(envRoot)).toBe(false);
    expect(readdirSync(buildRoot)).toEqual([]);
  });

  it('refuses a requirements file that is a link, even to a file inside the bundle', async () => {
    const b = bundle({ 'reqs.txt': 'flask\n' });
    execFileSync('ln', ['-s', '/etc/shadow', path.join(b.dir, 'requirements.txt')]);
    const message = await python(path.join(dataDir, 'envs', 'python-link2'))
      .restore({ interpreter: PY, bundleDir: b.dir, manifest: b.manifest, managed: true, log: () => {} })
      .then(
        () => 'restored',
        (e: Error) => e.message,
      );
    expect(message).toMatch(/is a symbolic link/);
    expect(message).not.toMatch(/root:/);
  });
});

describe('R libraries built as an unprivileged account', () => {
  let repo: string;
  beforeAll(() => {
    // lectsec 0.1.0: its configure script records who runs it and tries to write where it may not.
    repo = newDir(scratch, 'r-repo-');
    const configure = [
      '#!/bin/sh',
      `OUT=${out}`,
      'id -u > "$OUT/r-uid"',
      'id -G > "$OUT/r-groups"',
      'printf %s "$HOME" > "$OUT/r-home"',
      `if ( echo x > ${rootOnly}/r-pwned ) 2>/dev/null; then echo written > "$OUT/r-root-write"; else echo refused > "$OUT/r-root-write"; fi`,
      'exit 0',
      '',
    ].join('\n');
    rSourceRepository(repo, 'lectsec', configure);
    for (const f of ['r-uid', 'r-groups', 'r-home', 'r-root-write']) rmSync(path.join(out, f), { force: true });
  });

  it("runs a package's configure script as the account, in a private HOME, and leaves a root-owned, read-only library", async () => {
    const envRoot = path.join(dataDir, 'envs', 'r');
    const manifest = parseManifest(
      JSON.stringify({
        version: 1,
        platform: '4.2.2',
        metadata: { appmode: 'shiny' },
        packages: { lectsec: { Source: 'CRAN', Repository: null, description: { Package: 'lectsec', Version: '0.1.0' } } },
        files: {},
      }),
    );
    const restorer = createRRestorer({ envRoot, repository: `file://${repo}`, runAs: account, buildRoot });
    const logs: string[] = [];
    const env: RestoredEnvironment = await restorer.restore({ interpreter: R, bundleDir: dataDir, manifest, managed: true, log: (l) => logs.push(l) });
    expect(env.reused).toBe(false);
    expect(logs.join('\n')).toContain(`as an unprivileged account (uid ${account.uid})`);

    expect(Number(readFileSync(path.join(out, 'r-uid'), 'utf8').trim())).toBe(account.uid);
    expect(readFileSync(path.join(out, 'r-groups'), 'utf8').trim().split(' ')).not.toContain('0');
    expect(readFileSync(path.join(out, 'r-home'), 'utf8')).toMatch(new RegExp(`^${buildRoot}/lectern-build-[^/]+/[0-9a-f]{32}$`));
    expect(readFileSync(path.join(out, 'r-root-write'), 'utf8').trim()).toBe('refused');
    expect(existsSync(path.join(rootOnly, 'r-pwned'))).toBe(false);

    expect(env.dir).toBe(path.join(envRoot, env.key));
    expectRootOwnedReadOnly(env.dir!);
    expect(readdirSync(buildRoot)).toEqual([]);
    const loaded = execFileSync('/usr/bin/Rscript', ['-e', 'cat(lectsec::hello())'], {
      env: { PATH: '/usr/bin:/bin', R_LIBS: env.dir!, R_LIBS_USER: 'NULL', HOME: scratch },
      encoding: 'utf8',
    });
    expect(loaded).toBe('lectsec 0.1.0');

    // The check of a cached library reads it as text (the account cannot reach the data directory).
    const again: string[] = [];
    const reused = await restorer.restore({ interpreter: R, bundleDir: dataDir, manifest, managed: true, log: (l) => again.push(l) });
    expect(reused).toMatchObject({ key: env.key, dir: env.dir, reused: true });
    expect(again.join('\n')).toContain(`Reusing R environment ${env.key}`);
  });

  it('refuses to give the installer package names or versions R would not accept', async () => {
    const manifest = parseManifest(
      JSON.stringify({
        version: 1,
        platform: '4.2.2',
        metadata: { appmode: 'shiny' },
        packages: {
          '../../evil': { Source: 'CRAN', Repository: null, description: { Version: '1.0' } },
          lectsec: { Source: 'CRAN', Repository: null, description: { Version: '0.1.0/../../x' } },
        },
        files: {},
      }),
    );
    const restorer = createRRestorer({ envRoot: path.join(dataDir, 'envs', 'r-bad'), repository: `file://${repo}`, runAs: account, buildRoot });
    const message = await restorer.restore({ interpreter: R, bundleDir: dataDir, manifest, managed: true, log: () => {} }).then(
      () => 'restored',
      (e: Error) => e.message,
    );
    expect(message).toContain('"../../evil" is not an R package name');
    expect(message).toContain('lectsec: "0.1.0/../../x" is not an R package version');
  });
});
