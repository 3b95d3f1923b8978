// The unprivileged build area and the installer process runner, shared by the Python and R
// restorers: installers run bundle-controlled code (setup.py, configure), so they run as the
// content account, never as root, and whatever they leave running is killed.
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LineSplitter } from '../../src/domain/line-splitter.ts';

// Lines of pip output kept for the diagnosis (the log gets all of them), and at most this much
// text of them: each line is cut at MAX_LINE_BYTES, but 5000 long lines would still be a lot.
const KEEP_LINES = 5000;
const KEEP_CHARS = 4 * 1024 * 1024;

/**
 * Content may run as another account (runtime.runAs): a restrictive umask would leave the venv
 * unreadable to it.
 */
async function makeReadable(dir: string): Promise<void> {
  const mask = process.umask();
  if ((mask & 0o055) === 0) return;
  await chmod(dir, 0o755);
  await runQuiet('chmod', ['-R', 'a+rX', dir], { PATH: '/usr/bin:/bin' });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last KEEP_LINES lines of stdout and stderr, in arrival order. */
  lines: string[];
}

/** Runs a program (the venv's python, pip) with the build's environment, as the build's account. */
export type Exec = (cmd: string, args: string[], timeoutMs: number, onLine: (line: string) => void) => Promise<RunResult>;

/**
 * Runs a program in its own process group (as `as.uid`/`as.gid` when given, in `as.cwd`),
 * streaming each output line; rejects only if it cannot start. When it exits, whatever it left
 * running in its process group is killed too.
 */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  onLine: (line: string) => void,
  as: SpawnAs = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnInstaller(cmd, args, env, as);
    // The last lines, from `first` on (a queue without shifting the array each line).
    const kept: string[] = [];
    let first = 0;
    let keptChars = 0;
    let timedOut = false;
    const take = (line: string) => {
      kept.push(line);
      keptChars += line.length;
      while (kept.length - first > KEEP_LINES || keptChars > KEEP_CHARS) keptChars -= kept[first++]!.length;
      if (first > KEEP_LINES) {
        kept.splice(0, first);
        first = 0;
      }
      if (line.trim() !== '') onLine(line);
    };
    // Lines cut at MAX_LINE_BYTES (CRLF taken care of): an installer printing without newlines holds no more.
    const streams = [child.stdout, child.stderr].map((s) => {
      const splitter = new LineSplitter(take);
      s.on('data', (chunk: Buffer) => splitter.write(chunk));
      return new Promise<void>((r) => {
        s.once('end', () => {
          splitter.end();
          r();
        });
        s.once('close', () => r());
      });
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', () => {
      killGroup();
      // Something that left the group may still hold the output open: stop reading after a while.
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 5000);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(grace);
      void Promise.all(streams).then(() => resolve({ code, signal, timedOut, lines: kept.slice(first) }));
    });
  });
}

async function runQuiet(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const result = await run(cmd, args, env, 300_000, () => {});
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${tail(result.lines)}`);
}

export function tail(lines: readonly string[], n = 20): string {
  return lines
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}

export function seconds(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/** The account installers run as: the one content runs as (runtime.runAs), never root. */
export interface InstallAccount {
  uid: number;
  gid: number;
}

/** spawn() options that run a child as the build's account, in its work directory. */
export interface SpawnAs {
  uid?: number;
  gid?: number;
  cwd?: string;
  /** Starts the installer inside the sandbox instead (set when the build has one). */
  confine?: (cmd: string, args: string[], env: NodeJS.ProcessEnv) => ChildProcess;
}

/** Starts an installer as `as` says: confined when the build area has a sandbox, else as the account. */
export function spawnInstaller(cmd: string, args: string[], env: NodeJS.ProcessEnv, as: SpawnAs): ChildProcessByStdio<null, Readable, Readable> {
  const { confine, ...options } = as;
  if (confine) return confine(cmd, args, env) as ChildProcessByStdio<null, Readable, Readable>;
  return spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
}

/**
 * Where installers run when Lectern runs as root: package builds run code of the bundle's
 * choosing (setup.py, build backends, R's configure), so they get the same confinement as
 * content (runtimes/local/install-sandbox.ts): a process tree of their own that sees no other
 * process, the system read-only, only the build area writable, the environment on a file
 * descriptor, and the network only as far as the package source needs it.
 */
export interface InstallSandbox {
  spawn(o: InstallerLaunch): ChildProcess;
}

export interface InstallerLaunch {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  account: InstallAccount;
  /** The build area: the only place the installer writes. */
  writable: string[];
  /** What it reads besides the system: the interpreter's installation, an index on disk. */
  readable: string[];
  /** Where packages come from (an index or repository URL): it decides the network. */
  source: string;
}

/**
 * What an installer reads besides the system: its interpreter's installation when outside /usr
 * (a Python built into /opt), and package sources on disk (`file:` indexes and repositories).
 */
export function readableFor(interpreter: string, ...sources: string[]): string[] {
  const out: string[] = [];
  const resolved = path.resolve(interpreter);
  if (!resolved.startsWith('/usr/')) out.push(path.dirname(path.dirname(resolved)));
  for (const s of sources) {
    if (!s.startsWith('file:')) continue;
    // A pip index's pages link to ../../files beside its simple/; an R repository is read from
    // its root (src/contrib).
    out.push(new URL(s).pathname.replace(/\/+$/, '').replace(/\/simple$/, ''));
  }
  return out;
}

/** What a build area needs to confine its installers. */
export interface BuildSandbox {
  sandbox: InstallSandbox;
  readable: string[];
  source: string;
}

/** Where one environment is built, and the moves that end the installers' access to it. */
export interface BuildArea {
  /** The directory the installer fills: the venv, the R library. */
  target: string;
  /** HOME and TMPDIR of the installers (pip's cache, R's downloads): private to this build. */
  work: string;
  /** Where the server writes files for the installers to read (the requirements): theirs to read, not to write. */
  inputs: string;
  /** How to spawn installers: as the account, in `work`. */
  spawnAs: SpawnAs;
  /**
   * Ends the installers' access: target becomes the server's (root's), directories 0755,
   * files 0644 or 0755, no set-id bits, so content running as the account cannot change an
   * environment other content shares. Fails if the installer linked in files from outside.
   */
  seal(): Promise<void>;
  /** Moves the sealed target to `partial` (in envRoot), copying when it is on another file system. */
  moveTo(partial: string): Promise<void>;
  /** Removes what is left of the build. */
  dispose(): Promise<void>;
}

const BUILD_PREFIX = 'lectern-build-';

/** Installers as another account need root (to switch to it and to take the result back). */
export function assertCanRunAs(runAs: InstallAccount | null): void {
  if (!runAs) return;
  if (process.getuid?.() !== 0) throw new Error(`Environment installers can run as another account (uid ${runAs.uid}) only when Lectern runs as root.`);
  if (runAs.uid === 0 || runAs.gid === 0) throw new Error('Environment installers must run as an unprivileged account, not as root.');
}

/**
 * A place to build one environment. Without an account, as before: the installer runs as the
 * server and builds `partial` in place (envRoot's file system), with a private HOME.
 *
 * With an account, the data directory (0700, where envRoot is) is out of its reach, so it builds
 * under buildRoot:
 *
 *     <buildRoot>/lectern-build-XXXXXX/    root 0711: the account can pass, not list
 *         env/                             the account's: the target
 *         <32 random hex>/                 the account's, 0700: HOME, TMPDIR, caches
 *         <32 random hex>/                 root 0755: inputs (the requirements)
 *
 * Nothing the account can write is ever written, followed or deleted by the server while the
 * account could still change it: seal() first closes the top directory (0700), then takes
 * ownership top-down, each directory before what is in it, so no name can be swapped for a
 * link under the server's feet.
 */
export async function createBuildArea(o: {
  runAs: InstallAccount | null;
  buildRoot?: string | undefined;
  partial: string;
  sandbox?: BuildSandbox | undefined;
}): Promise<BuildArea> {
  const { runAs } = o;
  if (!runAs) {
    const work = await mkdtemp(path.join(os.tmpdir(), BUILD_PREFIX));
    await mkdir(o.partial, { mode: 0o755 });
    return {
      target: o.partial,
      work,
      inputs: work,
      spawnAs: { cwd: work },
      seal: () => makeReadable(o.partial),
      moveTo: async () => {},
      dispose: () => rm(work, { recursive: true, force: true }),
    };
  }
  const buildRoot = path.resolve(o.buildRoot ?? os.tmpdir());
  await mkdir(buildRoot, { recursive: true, mode: 0o755 });
  await assertReachable(buildRoot, runAs);
  await removeStaleBuildAreas(buildRoot);
  const top = await mkdtemp(path.join(buildRoot, BUILD_PREFIX));
  const target = path.join(top, 'env');
  const work = path.join(top, randomBytes(16).toString('hex'));
  const inputs = path.join(top, randomBytes(16).toString('hex'));
  let sealed = false;
  try {
    await mkdir(inputs, { mode: 0o755 });
    await chmod(inputs, 0o755);
    for (const [dir, mode] of [
      [target, 0o755],
      [work, 0o700],
    ] as const) {
      await mkdir(dir, { mode });
      await chmod(dir, mode);
      await lchown(dir, runAs.uid, runAs.gid);
    }
    await chmod(top, 0o711);
  } catch (err) {
    await rm(top, { recursive: true, force: true });
    throw err;
  }
  const close = async () => {
    await chmod(top, 0o700);
  };
  const sb = o.sandbox;
  const confine = sb
    ? (cmd: string, args: string[], env: NodeJS.ProcessEnv) =>
        sb.sandbox.spawn({ cmd, args, env, cwd: work, account: runAs, writable: [top], readable: sb.readable, source: sb.source })
    : undefined;
  return {
    target,
    work,
    inputs,
    spawnAs: { uid: runAs.uid, gid: runAs.gid, cwd: work, ...(confine ? { confine } : {}) },
    async seal() {
      await close();
      await secureTree(target, { dirMode: 0o755, files: true });
      sealed = true;
    },
    async moveTo(partial) {
      if (!sealed) throw new Error('moveTo before seal');
      try {
        await rename(target, partial);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        // Another file system: copy (links as links, modes, owner), nothing of it is the account's now.
        await runQuiet('cp', ['-a', '--', target, partial], { PATH: '/usr/bin:/bin' });
      }
    },
    async dispose() {
      // Never masks the build's own outcome: at worst a stale area, removed a day later.
      await close().catch(() => {});
      await disposeTree(top).catch(() => {});
    },
  };
}

/** The account must be able to pass through every directory down to buildRoot (not the 0700 data directory). */
async function assertReachable(buildRoot: string, runAs: InstallAccount): Promise<void> {
  for (let dir = buildRoot; ; dir = path.dirname(dir)) {
    const info = await stat(dir);
    const bit = info.uid === runAs.uid ? 0o100 : info.gid === runAs.gid ? 0o010 : 0o001;
    if (!(info.mode & bit)) {
      throw new Error(
        `Environments are built in ${buildRoot}, which the installer account (uid ${runAs.uid}) cannot reach: ${dir} is mode ${(info.mode & 0o777).toString(8)}. ` +
          'Build them in a directory outside the data directory (the system temporary directory by default).',
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

/** Takes a tree the account may have written out of its hands (directories first), then removes it. */
async function disposeTree(dir: string): Promise<void> {
  try {
    await secureTree(dir, { dirMode: 0o700, files: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await rm(dir, { recursive: true, force: true });
}

/** Build areas a crash left behind (a day old: no build takes that long). */
async function removeStaleBuildAreas(buildRoot: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600_000;
  const names = await readdir(buildRoot).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(BUILD_PREFIX)) continue;
    const full = path.join(buildRoot, name);
    const info = await lstat(full).catch(() => null);
    // Only the server's own: anyone can make a directory of that name in /tmp.
    if (info?.isDirectory() && info.uid === process.getuid?.() && info.mtimeMs < dayAgo) await disposeTree(full).catch(() => {});
  }
}

/**
 * Makes every file of a tree the server's (the caller's uid and gid): each directory is taken
 * (owner, then `dirMode`) before it is read, so once read, none of its names can change; then,
 * with `files`, links are taken as links (never followed) and every other file becomes 0644, or
 * 0755 if it had any execute bit (set-id bits cleared). The tree's parent must already be out
 * of others' reach. A file with links outside the tree is refused (taking it would take the
 * outside file too).
 */
async function secureTree(root: string, o: { dirMode: number; files: boolean }): Promise<void> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const first = await lstat(root);
  if (!first.isDirectory()) throw new Error(`The build left ${root} as something other than a directory.`);
  const files: Array<{ file: string; info: Stats }> = [];
  const take = async (dir: string): Promise<void> => {
    await lchown(dir, uid, gid);
    await chmod(dir, o.dirMode);
    const names = await readdir(dir);
    const subdirs: string[] = [];
    await Promise.all(
      names.map(async (name) => {
        const file = path.join(dir, name);
        const info = await lstat(file);
        if (info.isDirectory()) subdirs.push(file);
        else if (info.isSymbolicLink()) {
          if (o.files) await lchown(file, uid, gid);
        } else if (o.files) files.push({ file, info });
      }),
    );
    for (const sub of subdirs) await take(sub);
  };
  await take(root);
  if (!o.files) return;
  const seen = new Map<string, number>();
  const id = (i: Stats) => `${i.dev}:${i.ino}`;
  for (const f of files) seen.set(id(f.info), (seen.get(id(f.info)) ?? 0) + 1);
  const outside = files.find((f) => f.info.nlink > (seen.get(id(f.info)) ?? 0));
  if (outside) {
    throw new Error(`Installing left ${path.relative(root, outside.file)} hard-linked to a file outside the environment; the environment was not kept.`);
  }
  for (let i = 0; i < files.length; i += 64) {
    await Promise.all(
      files.slice(i, i + 64).map(async ({ file, info }) => {
        await lchown(file, uid, gid);
        await chmod(file, info.mode & 0o111 ? 0o755 : 0o644);
      }),
    );
  }
}
