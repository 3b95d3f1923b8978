import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Interpreter } from '../interpreters.ts';
import type { EnvironmentRestorer, RestoreRequest, RestoredEnvironment } from './environment.ts';
import { assertCanRunAs, createBuildArea, readableFor, run, seconds, tail, type Exec, type InstallAccount, type InstallSandbox, type RunResult } from './install-area.ts';
import {
  checkRequirements,
  diagnosePip,
  normalizeName,
  normalizeRequirements,
  requirementName,
  requirementsPolicyError,
  withoutRequirements,
  type MissingRequirement,
  type PipDiagnosis,
} from './python-requirements.ts';

export interface PythonRestorerOptions {
  /** Environments live in `<envRoot>/<key>`; pip's cache in `<envRoot>/.pip-cache`. */
  envRoot: string;
  /** pip's `--index-url` (the server's Python package index). */
  indexUrl: string;
  extraIndexUrls?: string[];
  /** The whole `pip install`; past it pip and its children are killed. Default 20 minutes. */
  installTimeoutMs?: number;
  /** Proxy and certificate variables pip needs to reach the index (from the server's config). */
  networkEnv?: Record<string, string>;
  /** pip's `--timeout` for one network operation, in seconds. Default 30. */
  networkTimeoutSeconds?: number;
  /** pip's `--retries` for a failed connection. Default 2. */
  retries?: number;
  /**
   * The unprivileged account `python -m venv` and pip (and so every package's setup.py) run
   * as: the account content runs as. Null or absent: they run as the server's own user, as
   * before; pass it whenever Lectern runs as root, since building runs the packages' code. Set,
   * it requires root. See createBuildArea for what the account can and cannot reach.
   */
  runAs?: InstallAccount | null;
  /**
   * With runAs: where builds happen, a directory the account can reach (the data directory is
   * 0700), ideally on the file system of envRoot so the finished environment is renamed rather
   * than copied into place. Default os.tmpdir().
   */
  buildRoot?: string;
  /**
   * pip's `--only-binary=:all:`: wheels only, so no package's build code runs at all. Default
   * false: source distributions from the configured index are built (as runAs when set).
   */
  binaryOnly?: boolean;
  /** With runAs: the sandbox installers run in (InstallSandbox). */
  sandbox?: InstallSandbox;
}

/** Written last into a finished environment: its presence means "complete". */
export const PYTHON_ENV_MARKER = '.lectern-environment.json';

// Part of every key: change it when the way environments are built changes.
const BUILD_VERSION = 'venv-system-site-1';
const INDEX_SETTING = 'server setting runtime.pythonIndexUrl, LECTERN_PYTHON_INDEX_URL';
// Rechecks after a failure, to name every unsatisfiable requirement rather than pip's first.
const RECHECK_LIMIT = 10;
const RECHECK_BUDGET_MS = 60_000;

/**
 * The cache key: interpreter, requirements and indexes, hashed. The requirements policy
 * (checkRequirements) leaves nothing installed that the file's own text does not name.
 */
export function pythonEnvironmentKey(interpreter: Interpreter, requirements: string, indexUrl: string, extraIndexUrls: readonly string[] = [], binaryOnly = false): string {
  const material = JSON.stringify([
    BUILD_VERSION, interpreter.path, interpreter.version, normalizeRequirements(requirements), indexUrl, [...extraIndexUrls],
    ...(binaryOnly ? ['only-binary'] : []),
  ]);
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

/**
 * Python environments for content: a venv per distinct set of requirements, with the system
 * site packages visible (so Debian's packages satisfy the pins they match), filled by pip from
 * the server's index only, cached by key and built once even when deploys race. The bundle's
 * requirements file must pass checkRequirements (project names only: no other files, indexes,
 * URLs or paths). With runAs, venv and pip run as that account and the finished environment
 * is the root's, read-only to content.
 */
export function createPythonRestorer(opts: PythonRestorerOptions): EnvironmentRestorer {
  assertCanRunAs(opts.runAs ?? null);
  const extra = opts.extraIndexUrls ?? [];
  const inflight = new Map<string, Promise<RestoredEnvironment>>();

  return {
    async restore(req) {
      const { interpreter } = req;
      if (!req.managed) {
        req.log(
          `Environment management is off for this Python content: running with ${interpreter.path} (Python ${interpreter.version}) ` +
            `and the packages installed for it, as they are; the bundle's requirements are not installed.`,
        );
        return { key: '', dir: null, reused: true, executable: interpreter.path, env: {} };
      }

      const { name, text } = await readRequirements(req);
      const { checked, problems } = checkRequirements(text);
      if (problems.length > 0) throw requirementsPolicyError(name, problems);
      const key = pythonEnvironmentKey(interpreter, checked.canonical, opts.indexUrl, extra, opts.binaryOnly ?? false);
      const dir = path.join(opts.envRoot, key);
      if (isComplete(dir)) {
        req.log(`Reusing the Python environment ${key}: nothing to install`);
        return described(key, dir, true);
      }
      const running = inflight.get(key);
      if (running) {
        req.log(`The Python environment ${key} is being built for another deploy; waiting for it`);
        await running;
        req.log(`Reusing the Python environment ${key}: nothing to install`);
        return described(key, dir, true);
      }
      const build = buildEnvironment(opts, extra, req, key, dir, name, checked.canonical);
      inflight.set(key, build);
      try {
        return await build;
      } finally {
        inflight.delete(key);
      }
    },
  };
}

function described(key: string, dir: string, reused: boolean): RestoredEnvironment {
  return { key, dir, reused, executable: path.join(dir, 'bin', 'python'), env: { VIRTUAL_ENV: dir, PATH_PREPEND: path.join(dir, 'bin') } };
}

/** Complete: the marker is there and the venv's python still resolves to an interpreter. */
function isComplete(dir: string): boolean {
  return existsSync(path.join(dir, PYTHON_ENV_MARKER)) && existsSync(path.join(dir, 'bin', 'python'));
}

/**
 * The bundle's requirements file, read by the server (installers may not be able to reach the
 * bundle): a regular file inside the bundle, not a link.
 */
export async function readRequirements(req: RestoreRequest): Promise<{ name: string; text: string }> {
  const pm = req.manifest.python?.package_manager;
  const name = pm?.package_file || 'requirements.txt';
  if (pm?.name === 'conda' || /\.ya?ml$/i.test(name)) {
    throw new Error(`This server does not restore conda environments (${name}). Deploy with a requirements.txt (pip), or with Python environment management off to use the server's installed packages.`);
  }
  const bundle = path.resolve(req.bundleDir);
  const file = path.resolve(bundle, name);
  if (path.isAbsolute(name) || !file.startsWith(bundle + path.sep)) {
    throw new Error(`The manifest's python.package_manager.package_file ${JSON.stringify(name)} is not a file inside the bundle.`);
  }
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`The bundle's ${name} is a symbolic link: the requirements must be a regular file in the bundle.`);
    if (code !== 'ENOENT') throw err;
    req.log(`The bundle has no ${name}: the environment gets no packages beyond the server's.`);
    return { name, text: '' };
  }
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`The bundle's ${name} is not a regular file.`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await handle.readFile());
    } catch {
      throw new Error(`The bundle's ${name} is not UTF-8 text: save it as UTF-8.`);
    }
    req.log(`Python requirements: ${name}${pm?.name && pm.name !== 'pip' ? ` (written for ${pm.name}; installed with pip)` : ''}`);
    return { name, text };
  } finally {
    await handle.close();
  }
}

async function buildEnvironment(
  opts: PythonRestorerOptions,
  extra: readonly string[],
  req: RestoreRequest,
  key: string,
  dir: string,
  requirementsName: string,
  requirements: string,
): Promise<RestoredEnvironment> {
  const { interpreter } = req;
  await mkdir(opts.envRoot, { recursive: true });
  await removeStalePartials(opts.envRoot);
  const partial = `${dir}.partial-${randomBytes(6).toString('hex')}`;
  // The item's own account when the runtime gives one, else the configured one.
  const account = opts.runAs ? (req.account ?? opts.runAs) : null;
  const sandbox = account && opts.sandbox ? { sandbox: opts.sandbox, readable: readableFor(interpreter.path, opts.indexUrl, ...extra), source: opts.indexUrl } : undefined;
  const area = await createBuildArea({ runAs: account, buildRoot: opts.buildRoot, partial, sandbox });
  const env = childEnv(area.work, opts.networkEnv);
  const exec: Exec = (cmd, args, timeoutMs, onLine) => run(cmd, args, env, timeoutMs, onLine, area.spawnAs);
  try {
    const as = account ? ` as an unprivileged account (uid ${account.uid}${sandbox ? ', sandboxed' : ''})` : '';
    req.log(`Creating the Python environment ${key} with ${interpreter.path} (Python ${interpreter.version}), system site packages visible${as}`);
    let started = Date.now();
    await createVenv(interpreter, area.target, exec);
    req.log(`Created the environment in ${seconds(Date.now() - started)}`);
    const python = path.join(area.target, 'bin', 'python');

    if (requirements !== '') {
      // What was checked is what pip reads: the canonical lines, in a file the installer can read.
      const file = path.join(area.inputs, 'requirements.txt');
      await writeFile(file, requirements, { mode: 0o644, flag: 'wx' });
      const cacheDir = opts.runAs ? path.join(area.work, 'pip-cache') : path.join(opts.envRoot, '.pip-cache');
      const ctx: PipContext = { opts, extra, python, exec, inputs: area.inputs, cacheDir, requirementsName };
      const indexes = [opts.indexUrl, ...extra].join(', ');
      req.log(`Installing the requirements with pip from ${indexes}${opts.binaryOnly ? ' (wheels only)' : ''}`);
      started = Date.now();
      const result = await pipInstall(python, pipArgs(opts, extra, cacheDir, file), exec, opts.installTimeoutMs ?? 20 * 60_000, req.log);
      if (result.code !== 0) throw await installFailure(ctx, requirements, result);
      req.log(`Installed the requirements in ${seconds(Date.now() - started)}`);
    } else {
      req.log('No requirements to install');
    }

    await area.seal();
    await relocateScripts(area.target, dir);
    // Sealed: nothing but the server changes the tree now; an installer's own marker goes.
    await rm(path.join(area.target, PYTHON_ENV_MARKER), { force: true, recursive: true });
    await writeFile(
      path.join(area.target, PYTHON_ENV_MARKER),
      JSON.stringify({ key, interpreter: interpreter.path, version: interpreter.version, indexUrl: opts.indexUrl, extraIndexUrls: extra, binaryOnly: opts.binaryOnly ?? false, requirements: normalizeRequirements(requirements), created: new Date().toISOString() }, null, 2) + '\n',
      { mode: 0o644, flag: 'wx' },
    );
    await area.moveTo(partial);
    await moveIntoPlace(partial, dir);
    return described(key, dir, false);
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  } finally {
    await area.dispose();
  }
}

/**
 * pip writes the venv's path into the scripts it installs (`#!<venv>/bin/python`) and venv
 * into activate: make them name where the environment ends up, never the build directory.
 */
async function relocateScripts(built: string, final: string): Promise<void> {
  if (built === final) return;
  const from = Buffer.from(built);
  const to = Buffer.from(final);
  const bin = path.join(built, 'bin');
  const names = await readdir(bin).catch(() => [] as string[]);
  for (const file of [...names.map((n) => path.join(bin, n)), path.join(built, 'pyvenv.cfg')]) {
    const info = await lstat(file).catch(() => null);
    if (!info?.isFile() || info.size > 1_000_000) continue;
    const data = await readFile(file);
    if (data.includes(0) || !data.includes(from)) continue;
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = data.indexOf(from); i >= 0; i = data.indexOf(from, at)) {
      parts.push(data.subarray(at, i), to);
      at = i + from.length;
    }
    parts.push(data.subarray(at));
    await writeFile(file, Buffer.concat(parts));
  }
}

/** Half-built environments a crash left behind (a day old: no build takes that long). */
async function removeStalePartials(envRoot: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of await readdir(envRoot)) {
    if (!name.includes('.partial-')) continue;
    const full = path.join(envRoot, name);
    const info = await stat(full).catch(() => null);
    if (info && info.mtimeMs < dayAgo) await rm(full, { recursive: true, force: true });
  }
}

/** Renames the finished venv to its key; if another process got there first, uses theirs. */
async function moveIntoPlace(partial: string, dir: string): Promise<void> {
  try {
    await rename(partial, dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  if (isComplete(dir)) {
    await rm(partial, { recursive: true, force: true });
    return;
  }
  // Left over from a crash before the marker: nothing uses an incomplete environment.
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
}


/**
 * What venv and pip see: a fixed PATH and locale, the network variables the server's config
 * passes on (proxies, certificates), and nothing of the server's PIP_* or PYTHON* settings.
 */
function childEnv(home: string, networkEnv: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', ...networkEnv, HOME: home, TMPDIR: home, PIP_CONFIG_FILE: os.devNull, PYTHONNOUSERSITE: '1' };
}

function pipArgs(opts: PythonRestorerOptions, extra: readonly string[], cacheDir: string, requirementsFile: string, overrides: { timeout?: number; retries?: number; dryRun?: boolean } = {}): string[] {
  return [
    '-m', 'pip', 'install',
    '--no-input', '--disable-pip-version-check', '--no-color', '--progress-bar', 'off', '--no-warn-script-location',
    '--timeout', String(overrides.timeout ?? opts.networkTimeoutSeconds ?? 30),
    '--retries', String(overrides.retries ?? opts.retries ?? 2),
    '--cache-dir', cacheDir,
    '--index-url', opts.indexUrl,
    ...extra.flatMap((u) => ['--extra-index-url', u]),
    ...(opts.binaryOnly ? ['--only-binary=:all:'] : []),
    ...(overrides.dryRun ? ['--dry-run'] : []),
    '-r', requirementsFile,
  ];
}

async function createVenv(interpreter: Interpreter, target: string, exec: Exec): Promise<void> {
  let result: RunResult;
  try {
    // --without-pip: 40 ms instead of 4 s and 25 MB; pip comes from the system site packages.
    result = await exec(interpreter.path, ['-m', 'venv', '--system-site-packages', '--without-pip', target], 120_000, () => {});
  } catch (err) {
    throw interpreterError(interpreter, err);
  }
  if (result.code !== 0) {
    const out = result.lines.join('\n');
    const hint = /No module named venv|ensurepip is not available/.test(out) ? ` Install the Debian package python3-venv (or the venv module for ${interpreter.path}).` : '';
    throw new Error(`Could not create a Python environment with ${interpreter.path} -m venv (exit code ${result.code}).${hint}\n${tail(result.lines)}`);
  }
}

function interpreterError(interpreter: Interpreter, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    const debian = interpreter.path.startsWith('/usr/bin/') ? ' On Debian it comes with the package python3 (apt-get install python3 python3-venv python3-pip).' : '';
    return new Error(`The Python interpreter ${interpreter.path} (Python ${interpreter.version}) does not exist on this server.${debian} Install it, or configure the interpreters content may use (server setting runtime.python, LECTERN_PYTHON).`);
  }
  if (code === 'EACCES') return new Error(`The Python interpreter ${interpreter.path} cannot be executed by the server (permission denied).`);
  return err instanceof Error ? err : new Error(String(err));
}

async function pipInstall(python: string, args: string[], exec: Exec, timeoutMs: number, log: (line: string) => void): Promise<RunResult> {
  const result = await exec(python, args, timeoutMs, log);
  if (result.code !== 0 && result.lines.some((l) => /No module named pip\b/.test(l))) {
    // An interpreter without a system pip: give the venv its own, once.
    log('pip is not installed for this interpreter; installing it into the environment with ensurepip');
    const ensure = await exec(python, ['-m', 'ensurepip', '--default-pip'], 300_000, log);
    if (ensure.code !== 0) {
      throw new Error(`pip is not available for ${python}: install the Debian packages python3-pip and python3-venv (or pip for this interpreter).`);
    }
    return exec(python, args, timeoutMs, log);
  }
  return result;
}

/** What a failed install's diagnosis needs to ask pip again. */
interface PipContext {
  opts: PythonRestorerOptions;
  extra: readonly string[];
  python: string;
  exec: Exec;
  /** Where the server writes files the installer reads. */
  inputs: string;
  cacheDir: string;
  /** The bundle's name for its requirements file, for messages. */
  requirementsName: string;
}

/** Turns a failed `pip install` into an error that says what is missing and how to fix it. */
async function installFailure(ctx: PipContext, requirementsText: string, result: RunResult): Promise<Error> {
  const { opts, extra, python, exec } = ctx;
  const indexes = [opts.indexUrl, ...extra];
  const where = indexes.length > 1 ? `the package indexes ${indexes.join(', ')}` : `the package index ${opts.indexUrl}`;
  const reqName = ctx.requirementsName;
  const managementOff = `or deploy with Python environment management off to use the packages installed on the server`;
  if (result.timedOut) {
    return new Error(`Installing the Python requirements did not finish within ${seconds(opts.installTimeoutMs ?? 20 * 60_000)} (pip was stopped). A slow or unreachable ${where.replace(/^the /, '')} is the usual cause; check it, ${managementOff}.`);
  }
  const diag = diagnosePip(result.lines);

  if (diag.conflicts.length > 0) {
    return new Error(
      `The bundle's Python requirements cannot be installed together (pip could not resolve them from ${where}):\n` +
        diag.conflicts.map((l) => `  ${l}`).join('\n') +
        `\nTo fix it: change the pins in ${reqName} so they agree (or make versions that agree available in ${where}, ${INDEX_SETTING}), ${managementOff}.`,
    );
  }

  if (diag.missing.length > 0) {
    const missing = await recheckMissing(ctx, requirementsText, diag);
    let network = diag.network[0] ? networkReason(diag.network[0]) : null;
    if (!network) network = await unreachable(python, exec, opts.indexUrl);
    const list = missing.map((m) => `  - ${describeMissing(m, !network)}`).join('\n');
    if (network) {
      return new Error(
        `Could not install the bundle's Python requirements: ${where} cannot be reached from this server (${network}).\n` +
          `These requirements are not satisfied by the packages installed on the server and need the index:\n${list}\n` +
          `To fix it: point the server at a package index it can reach (${INDEX_SETTING}; a local mirror works), let the server reach ${opts.indexUrl}, ` +
          `change the pins to versions the server has, ${managementOff}.`,
      );
    }
    return new Error(
      `Could not install the bundle's Python requirements: ${where} has nothing that satisfies:\n${list}\n` +
        `To fix it: make these available in the package index ${opts.indexUrl} (${INDEX_SETTING}), change the pins in ${reqName}, ${managementOff}.`,
    );
  }

  if (diag.network.length > 0) {
    return new Error(
      `Could not install the bundle's Python requirements: ${where} cannot be reached from this server (${networkReason(diag.network[0] ?? '')}).\n` +
        `To fix it: point the server at a package index it can reach (${INDEX_SETTING}), let the server reach ${opts.indexUrl}, ${managementOff}.`,
    );
  }

  if (diag.buildFailures.length > 0) {
    return new Error(
      `Could not build these Python packages from source: ${diag.buildFailures.join(', ')}. ` +
        `To fix it: make wheels for them available in ${where} (${INDEX_SETTING}), pin versions that have wheels for Python on this server, ${managementOff}. pip said:\n${tail(result.lines, 15)}`,
    );
  }

  const said = diag.errors.length > 0 ? diag.errors.map((l) => `  ${l}`).join('\n') : tail(result.lines);
  return new Error(`pip could not install the bundle's Python requirements from ${where} (exit code ${result.code ?? result.signal}):\n${said}\nTo fix it: correct ${reqName}, ${managementOff}.`);
}

function describeMissing(m: MissingRequirement, indexAnswered: boolean): string {
  const parts: string[] = [];
  if (m.neededBy) parts.push(`needed by ${m.neededBy}`);
  if (indexAnswered) parts.push(m.available.length > 0 ? `the index has ${m.available.join(', ')}` : 'the index has no version of it');
  return parts.length > 0 ? `${m.spec} (${parts.join('; ')})` : m.spec;
}

/** The telling part of a urllib3 retry warning: `Failed to establish a new connection: [Errno -2] Name or service not known`. */
function networkReason(line: string): string {
  const m = /(Failed to establish a new connection: [^'")]*)/.exec(line) ?? /(\[Errno [^\]]+\][^'")]*)/.exec(line) ?? /((?:Read|Connect) timed out[^'")]*)/.exec(line);
  const text = (m?.[1] ?? line).trim();
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

/**
 * pip stops at the first requirement it cannot find. To name them all, drop the ones found so
 * far and ask again with `--dry-run` (nothing installed), within a count and time budget.
 */
async function recheckMissing(ctx: PipContext, requirementsText: string, first: PipDiagnosis): Promise<MissingRequirement[]> {
  const { opts, extra, python, exec } = ctx;
  const found = [...first.missing];
  const deadline = Date.now() + RECHECK_BUDGET_MS;
  // Written by the server: never into a directory the installer can write.
  const file = path.join(ctx.inputs, 'recheck-requirements.txt');
  for (let i = 0; i < RECHECK_LIMIT && Date.now() < deadline; i++) {
    const names = new Set(found.map((m) => requirementName(m.spec)).filter((n): n is string => n !== null));
    const { text, removed } = withoutRequirements(requirementsText, names);
    // A transitive requirement is not a line we can drop: what pip said is the whole story.
    if (removed === 0 || normalizeRequirements(text) === '') break;
    await writeFile(file, text, { mode: 0o644 });
    const args = pipArgs(opts, extra, ctx.cacheDir, file, { dryRun: true, retries: 0, timeout: 10 });
    let result: RunResult;
    try {
      result = await exec(python, args, Math.max(1000, deadline - Date.now()), () => {});
    } catch {
      break;
    }
    if (result.code === 0 || result.timedOut) break;
    const more = diagnosePip(result.lines).missing.filter((m) => !found.some((f) => normalizeName(f.spec) === normalizeName(m.spec)));
    if (more.length === 0) break;
    found.push(...more);
  }
  return found;
}

/**
 * With `--retries 0` pip says nothing about a failed connection: "no versions" looks the same
 * as "not on the index". Asks the interpreter (same proxies, same certificates) whether the
 * index answers at all; returns the reason it does not, or null.
 */
async function unreachable(python: string, exec: Exec, indexUrl: string): Promise<string | null> {
  if (/^file:/i.test(indexUrl)) {
    try {
      return existsSync(fileURLToPath(indexUrl)) ? null : `the directory ${fileURLToPath(indexUrl)} does not exist`;
    } catch {
      return `${indexUrl} is not a usable file URL`;
    }
  }
  const probe = [
    'import sys, urllib.request, urllib.error',
    'try:',
    '    urllib.request.urlopen(sys.argv[1], timeout=10).close()',
    'except urllib.error.HTTPError:',
    '    pass',
    'except Exception as e:',
    '    print(getattr(e, "reason", e)); sys.exit(1)',
  ].join('\n');
  try {
    const result = await exec(python, ['-c', probe, indexUrl.replace(/\/?$/, '/')], 20_000, () => {});
    if (result.code === 0) return null;
    return result.timedOut ? 'no answer within 20 s' : result.lines.join(' ').trim() || 'no connection';
  } catch {
    return null;
  }
}
