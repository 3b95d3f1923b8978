import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Interpreter } from '../interpreters.ts';
import type { EnvironmentRestorer, RestoreRequest, RestoredEnvironment } from './environment.ts';
import { diagnosePip, normalizeName, normalizeRequirements, requirementName, withoutRequirements, type MissingRequirement, type PipDiagnosis } from './python-requirements.ts';

export interface PythonRestorerOptions {
  /** Environments live in `<envRoot>/<key>`; pip's cache in `<envRoot>/.pip-cache`. */
  envRoot: string;
  /** pip's `--index-url` (the server's Python package index). */
  indexUrl: string;
  extraIndexUrls?: string[];
  /** The whole `pip install`; past it pip and its children are killed. Default 20 minutes. */
  installTimeoutMs?: number;
  /** pip's `--timeout` for one network operation, in seconds. Default 30. */
  networkTimeoutSeconds?: number;
  /** pip's `--retries` for a failed connection. Default 2. */
  retries?: number;
}

/** Written last into a finished environment: its presence means "complete". */
export const PYTHON_ENV_MARKER = '.lectern-environment.json';

// Part of every key: change it when the way environments are built changes.
const BUILD_VERSION = 'venv-system-site-1';
const INDEX_SETTING = 'server setting runtime.pythonIndexUrl, LECTERN_PYTHON_INDEX_URL';
// Rechecks after a failure, to name every unsatisfiable requirement rather than pip's first.
const RECHECK_LIMIT = 10;
const RECHECK_BUDGET_MS = 60_000;
// Lines of pip output kept for the diagnosis (the log gets all of them).
const KEEP_LINES = 5000;

/** The cache key: interpreter, requirements and indexes, hashed. */
export function pythonEnvironmentKey(interpreter: Interpreter, requirements: string, indexUrl: string, extraIndexUrls: readonly string[] = []): string {
  const material = JSON.stringify([BUILD_VERSION, interpreter.path, interpreter.version, normalizeRequirements(requirements), indexUrl, [...extraIndexUrls]]);
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

/**
 * Python environments for content: a venv per distinct set of requirements, with the system
 * site packages visible (so Debian's packages satisfy the pins they match), filled by pip from
 * the server's index only, cached by key and built once even when deploys race.
 */
export function createPythonRestorer(opts: PythonRestorerOptions): EnvironmentRestorer {
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

      const { file, text } = await readRequirements(req);
      const key = pythonEnvironmentKey(interpreter, text, opts.indexUrl, extra);
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
      const build = buildEnvironment(opts, extra, req, key, dir, file, text);
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

async function readRequirements(req: RestoreRequest): Promise<{ file: string | null; text: string }> {
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
  try {
    const text = await readFile(file, 'utf8');
    req.log(`Python requirements: ${name}${pm?.name && pm.name !== 'pip' ? ` (written for ${pm.name}; installed with pip)` : ''}`);
    return { file, text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    req.log(`The bundle has no ${name}: the environment gets no packages beyond the server's.`);
    return { file: null, text: '' };
  }
}

async function buildEnvironment(
  opts: PythonRestorerOptions,
  extra: readonly string[],
  req: RestoreRequest,
  key: string,
  dir: string,
  requirementsFile: string | null,
  requirementsText: string,
): Promise<RestoredEnvironment> {
  const { interpreter } = req;
  await mkdir(opts.envRoot, { recursive: true });
  await removeStalePartials(opts.envRoot);
  const partial = `${dir}.partial-${randomBytes(6).toString('hex')}`;
  const home = await mkdtemp(path.join(os.tmpdir(), 'lectern-pip-'));
  const env = childEnv(home);
  try {
    req.log(`Creating the Python environment ${key} with ${interpreter.path} (Python ${interpreter.version}), system site packages visible`);
    let started = Date.now();
    await createVenv(interpreter, partial, env);
    req.log(`Created the environment in ${seconds(Date.now() - started)}`);
    const python = path.join(partial, 'bin', 'python');

    if (requirementsFile && normalizeRequirements(requirementsText) !== '') {
      const indexes = [opts.indexUrl, ...extra].join(', ');
      req.log(`Installing the requirements with pip from ${indexes}`);
      started = Date.now();
      const result = await pipInstall(python, pipArgs(opts, extra, path.join(opts.envRoot, '.pip-cache'), requirementsFile), env, opts.installTimeoutMs ?? 20 * 60_000, req.log);
      if (result.code !== 0) {
        throw await installFailure(opts, extra, python, env, home, requirementsFile, requirementsText, result);
      }
      req.log(`Installed the requirements in ${seconds(Date.now() - started)}`);
    } else {
      req.log('No requirements to install');
    }

    await makeReadable(partial);
    await writeFile(
      path.join(partial, PYTHON_ENV_MARKER),
      JSON.stringify({ key, interpreter: interpreter.path, version: interpreter.version, indexUrl: opts.indexUrl, extraIndexUrls: extra, requirements: normalizeRequirements(requirementsText), created: new Date().toISOString() }, null, 2) + '\n',
      { mode: 0o644 },
    );
    await moveIntoPlace(partial, dir);
    return described(key, dir, false);
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(home, { recursive: true, force: true });
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
 * Content may run as another account (runtime.runAs): a restrictive umask would leave the venv
 * unreadable to it.
 */
async function makeReadable(dir: string): Promise<void> {
  const mask = process.umask();
  if ((mask & 0o055) === 0) return;
  await chmod(dir, 0o755);
  await runQuiet('chmod', ['-R', 'a+rX', dir], process.env);
}

/** What venv and pip see: nothing of the server's PIP_* or PYTHON* settings, a private HOME. */
function childEnv(home: string): NodeJS.ProcessEnv {
  const keep = [
    'PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ',
    'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY',
    'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE',
  ];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  env.LANG ??= 'C.UTF-8';
  return { ...env, HOME: home, TMPDIR: home, PIP_CONFIG_FILE: os.devNull, PYTHONNOUSERSITE: '1' };
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
    ...(overrides.dryRun ? ['--dry-run'] : []),
    '-r', requirementsFile,
  ];
}

async function createVenv(interpreter: Interpreter, target: string, env: NodeJS.ProcessEnv): Promise<void> {
  let result: RunResult;
  try {
    // --without-pip: 40 ms instead of 4 s and 25 MB; pip comes from the system site packages.
    result = await run(interpreter.path, ['-m', 'venv', '--system-site-packages', '--without-pip', target], env, 120_000, () => {});
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

async function pipInstall(python: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, log: (line: string) => void): Promise<RunResult> {
  const result = await run(python, args, env, timeoutMs, log);
  if (result.code !== 0 && result.lines.some((l) => /No module named pip\b/.test(l))) {
    // An interpreter without a system pip: give the venv its own, once.
    log('pip is not installed for this interpreter; installing it into the environment with ensurepip');
    const ensure = await run(python, ['-m', 'ensurepip', '--default-pip'], env, 300_000, log);
    if (ensure.code !== 0) {
      throw new Error(`pip is not available for ${python}: install the Debian packages python3-pip and python3-venv (or pip for this interpreter).`);
    }
    return run(python, args, env, timeoutMs, log);
  }
  return result;
}

/** Turns a failed `pip install` into an error that says what is missing and how to fix it. */
async function installFailure(
  opts: PythonRestorerOptions,
  extra: readonly string[],
  python: string,
  env: NodeJS.ProcessEnv,
  home: string,
  requirementsFile: string,
  requirementsText: string,
  result: RunResult,
): Promise<Error> {
  const indexes = [opts.indexUrl, ...extra];
  const where = indexes.length > 1 ? `the package indexes ${indexes.join(', ')}` : `the package index ${opts.indexUrl}`;
  const reqName = path.basename(requirementsFile);
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
    const missing = await recheckMissing(opts, extra, python, env, home, requirementsText, diag);
    let network = diag.network[0] ? networkReason(diag.network[0]) : null;
    if (!network) network = await unreachable(python, env, opts.indexUrl);
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
async function recheckMissing(
  opts: PythonRestorerOptions,
  extra: readonly string[],
  python: string,
  env: NodeJS.ProcessEnv,
  home: string,
  requirementsText: string,
  first: PipDiagnosis,
): Promise<MissingRequirement[]> {
  const found = [...first.missing];
  const deadline = Date.now() + RECHECK_BUDGET_MS;
  const file = path.join(home, 'recheck-requirements.txt');
  for (let i = 0; i < RECHECK_LIMIT && Date.now() < deadline; i++) {
    const names = new Set(found.map((m) => requirementName(m.spec)).filter((n): n is string => n !== null));
    const { text, removed } = withoutRequirements(requirementsText, names);
    // A transitive requirement is not a line we can drop: what pip said is the whole story.
    if (removed === 0 || normalizeRequirements(text) === '') break;
    await writeFile(file, text);
    const args = pipArgs(opts, extra, path.join(opts.envRoot, '.pip-cache'), file, { dryRun: true, retries: 0, timeout: 10 });
    let result: RunResult;
    try {
      result = await run(python, args, env, Math.max(1000, deadline - Date.now()), () => {});
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
async function unreachable(python: string, env: NodeJS.ProcessEnv, indexUrl: string): Promise<string | null> {
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
    const result = await run(python, ['-c', probe, indexUrl.replace(/\/?$/, '/')], env, 20_000, () => {});
    if (result.code === 0) return null;
    return result.timedOut ? 'no answer within 20 s' : result.lines.join(' ').trim() || 'no connection';
  } catch {
    return null;
  }
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last KEEP_LINES lines of stdout and stderr, in arrival order. */
  lines: string[];
}

/** Runs a program in its own process group, streaming each output line; rejects only if it cannot start. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, onLine: (line: string) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const lines: string[] = [];
    let timedOut = false;
    const take = (line: string) => {
      const clean = line.replace(/\r$/, '');
      lines.push(clean);
      if (lines.length > KEEP_LINES) lines.shift();
      if (clean.trim() !== '') onLine(clean);
    };
    const streams = [child.stdout, child.stderr].map((s) => {
      const rl = createInterface({ input: s, crlfDelay: Infinity });
      rl.on('line', take);
      return new Promise<void>((r) => rl.once('close', () => r()));
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      void Promise.all(streams).then(() => resolve({ code, signal, timedOut, lines }));
    });
  });
}

async function runQuiet(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const result = await run(cmd, args, env, 300_000, () => {});
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${tail(result.lines)}`);
}

function tail(lines: readonly string[], n = 20): string {
  return lines.filter((l) => l.trim() !== '').slice(-n).join('\n');
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}
