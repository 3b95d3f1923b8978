import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LineSplitter } from '../../src/domain/line-splitter.ts';
import { KeyedShare, SharedLock } from '../../src/domain/keyed-lock.ts';
import type { Interpreter } from '../interpreters.ts';
import type { EnvironmentRestorer, RestoreRequest, RestoredEnvironment } from './environment.ts';
import { assertCanRunAs, createBuildArea, readableFor, spawnInstaller, type InstallAccount, type InstallSandbox, type SpawnAs } from './install-area.ts';
import {
  debianPackageFor,
  describeRequirement,
  describeRPlanProblems,
  installedFromDescription,
  invalidRPackageSpecs,
  parseRLibraryListing,
  planIsSatisfied,
  planRLibrary,
  rEnvironmentKey,
  rPackageRequirements,
  type InstalledRPackage,
  type RLibraryPlan,
  type RLibraryState,
  type RPackageRequirement,
} from './r-packages.ts';
import { rInventory } from './r-inventory.ts';
import { rCode, rscriptFor, R_PROCESS_ENV } from './r-scripts.ts';

export interface RRestorerOptions {
  /** Managed environments live in `<envRoot>/<key>`: one R library each. */
  envRoot: string;
  /** The CRAN-like repository packages are installed from (`runtime.rRepository`). */
  repository: string;
  /** The whole installation, all packages together (default 30 minutes). */
  installTimeoutMs?: number;
  /** R's per-download `timeout` option, in seconds (default 30): an unreachable mirror fails fast. */
  downloadTimeoutSeconds?: number;
  /**
   * The unprivileged account R installs packages as (their configure scripts and build code
   * run as it): the account content runs as. Null or absent: as the server's own user, as
   * before; pass it whenever Lectern runs as root. Set, it requires root. The finished library
   * is root's, read-only to content. See createBuildArea (install-area.ts).
   */
  runAs?: InstallAccount | null;
  /** With runAs: where libraries are built (see PythonRestorerOptions.buildRoot, python-options.ts). Default os.tmpdir(). */
  buildRoot?: string;
  /** With runAs: the sandbox installers run in (InstallSandbox). */
  sandbox?: InstallSandbox;
  /** Held shared while a managed environment is restored; a removal of the cache holds it alone (runtime-caches.ts). */
  gate?: SharedLock;
}

/** Marks a finished environment; written last, before the rename into place. Its JSON names R's version (`rVersion`). */
export const R_ENV_MARKER = '.lectern-complete';
const CHECK_TIMEOUT_MS = 60_000;
// R's listing of its library is a line or so per package: this is thousands of times that.
const CAPTURE_MAX_CHARS = 32 * 1024 * 1024;

interface RRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** R could not be started at all. */
class RNotInstalledError extends Error {}

function rMissing(interpreter: Interpreter, rscript: string, err: NodeJS.ErrnoException): RNotInstalledError {
  return new RNotInstalledError(
    `R is not installed at ${interpreter.path}: ${rscript} could not be started (${err.code ?? err.message}). ` +
      'Install R on the server (Debian: apt-get install r-base-core) or configure the R installation Lectern should use (LECTERN_R).',
  );
}

/**
 * Runs Rscript with a clean environment: nothing of the server's (its variables may hold
 * secrets, and installing runs packages' configure scripts), a fixed PATH for compilers, and
 * R_PROCESS_ENV; as `o.as` (an account) when given. Lines of output go to `onLine` as they
 * come. When R exits, whatever it left in its process group is killed.
 */
function runRscript(
  interpreter: Interpreter,
  args: string[],
  o: { cwd: string; home: string; env?: Record<string, string>; as?: SpawnAs; timeoutMs: number; onLine?: (line: string) => void },
): Promise<RRun> {
  const rscript = rscriptFor(interpreter.path);
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: o.home,
    TMPDIR: os.tmpdir(),
    ...R_PROCESS_ENV,
    ...o.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawnInstaller(rscript, ['--no-init-file', ...args], env, { ...o.as, cwd: o.cwd });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    // With onLine (installing: packages' configure scripts print what they like), output goes
    // by lines, each cut at MAX_LINE_BYTES, and is not kept; without it (the library listing,
    // R's own), it is kept up to CAPTURE_MAX_CHARS.
    const onLine = o.onLine;
    const splitters = onLine ? { out: new LineSplitter(onLine), err: new LineSplitter(onLine) } : null;
    const keep = (text: string, d: Buffer) => (text.length >= CAPTURE_MAX_CHARS ? text : text + d.toString());
    child.stdout.on('data', (d: Buffer) => {
      if (splitters) splitters.out.write(d);
      else stdout = keep(stdout, d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (splitters) splitters.err.write(d);
      else stderr = keep(stderr, d);
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
    }, o.timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' || err.code === 'EACCES' ? rMissing(interpreter, rscript, err) : err);
    });
    child.once('exit', () => {
      killGroup();
      // Something that left the group may still hold the output open: stop reading after a while.
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 5000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(grace);
      splitters?.out.end();
      splitters?.err.end();
      resolve({ code, signal, timedOut, stdout, stderr });
    });
  });
}

/**
 * The packages installed in one library, read by the server from their DESCRIPTION files as
 * text: no R runs with a library an installer wrote (R would load its code). As R counts them:
 * directories with Meta/package.rds; links are not followed.
 */
async function readRLibrary(lib: string): Promise<InstalledRPackage[]> {
  const names = await readdir(lib).catch(() => [] as string[]);
  const out: InstalledRPackage[] = [];
  for (const name of names.sort()) {
    const dir = path.join(lib, name);
    const [info, meta, desc] = await Promise.all(
      [dir, path.join(dir, 'Meta', 'package.rds'), path.join(dir, 'DESCRIPTION')].map((f) => lstat(f).catch(() => null)),
    );
    if (!info?.isDirectory() || !meta?.isFile() || !desc?.isFile() || desc.size > 1_000_000) continue;
    const pkg = installedFromDescription(name, await readFile(path.join(dir, 'DESCRIPTION'), 'latin1'), lib);
    if (pkg) out.push(pkg);
  }
  return out;
}

/**
 * Restores R content's packages as Connect does: with management on, the exact versions the
 * manifest records, from the server's library where it has them and otherwise installed from
 * the configured repository into a library of the environment's own (`R_LIBS`), cached by
 * key; with management off, the server's library as it is (a warning lists what is missing).
 */
export function createRRestorer(opts: RRestorerOptions): EnvironmentRestorer {
  const runAs = opts.runAs ?? null;
  assertCanRunAs(runAs);
  const installTimeoutMs = opts.installTimeoutMs ?? 30 * 60_000;
  const downloadTimeout = opts.downloadTimeoutSeconds ?? 30;
  const inflight = new KeyedShare<string, RestoredEnvironment>();
  const gate = opts.gate ?? new SharedLock();
  const home = path.join(opts.envRoot, '.home');

  /**
   * What R would load: the server's libraries as R lists them (R runs with those only), and in
   * front, `extraLib` (an environment's library) as readRLibrary reads it.
   */
  async function listLibrary(interpreter: Interpreter, extraLib: string | null): Promise<RLibraryState> {
    await mkdir(home, { recursive: true });
    const run = await runRscript(interpreter, ['-e', rCode('installed-packages')], {
      cwd: home,
      home,
      timeoutMs: CHECK_TIMEOUT_MS,
    });
    if (run.code !== 0) {
      throw new Error(
        `R at ${interpreter.path} could not list its installed packages (exit ${run.code ?? run.signal}${run.timedOut ? ', timed out' : ''}):\n${(run.stderr || run.stdout).trim()}`,
      );
    }
    const state = parseRLibraryListing(run.stdout);
    if (extraLib && existsSync(extraLib)) {
      state.libPaths.unshift(extraLib);
      state.packages.unshift(...(await readRLibrary(extraLib)));
    }
    return state;
  }

  function failure(plan: RLibraryPlan, why: string): Error {
    const problems = describeRPlanProblems(plan);
    const names = [...plan.missing.map((r) => r.name), ...plan.mismatched.map((m) => m.requirement.name)];
    return new Error(
      [
        `Could not restore the R environment: ${problems.length} R package${problems.length === 1 ? '' : 's'} the manifest lists ${problems.length === 1 ? 'is' : 'are'} not available at the required version:`,
        ...problems.map((p) => `  - ${p}`),
        why,
        'To fix it, either:',
        `  - install ${names.length === 1 ? 'it' : 'them'} in the server's R library (Debian: apt-get install ${names.map(debianPackageFor).join(' ')}; Debian's versions must match the bundle's),`,
        `  - make the repository reachable, or point Lectern's R repository setting (LECTERN_R_REPOSITORY) at one that has ${names.length === 1 ? 'it' : 'them'},`,
        "  - or turn R environment management off for this content, to run with the server's library as it is.",
      ].join('\n'),
    );
  }

  async function unmanaged(req: RestoreRequest, reqs: RPackageRequirement[]): Promise<RestoredEnvironment> {
    req.log(`R environment management is off: running with the server's R library as it is (R ${req.interpreter.version} at ${req.interpreter.path}).`);
    const state = await listLibrary(req.interpreter, null);
    const plan = planRLibrary(reqs, state);
    if (planIsSatisfied(plan)) {
      req.log(`All ${plan.required.length} R packages the manifest lists are installed in the server's library.`);
    } else {
      const problems = describeRPlanProblems(plan);
      req.log(
        `Warning: ${problems.length} R package${problems.length === 1 ? '' : 's'} the manifest lists ${problems.length === 1 ? 'is' : 'are'} missing or at another version in the server's library; the content may fail:`,
      );
      for (const p of problems) req.log(`  - ${p}`);
    }
    return {
      key: '',
      dir: null,
      reused: true,
      executable: req.interpreter.path,
      env: {},
      inventory: rInventory(reqs, state, null, req.interpreter.version, false),
    };
  }

  async function install(req: RestoreRequest, key: string, reqs: RPackageRequirement[], toInstall: RPackageRequirement[]): Promise<RestoredEnvironment> {
    const invalid = invalidRPackageSpecs(toInstall);
    if (invalid.length > 0) {
      throw new Error(
        `The manifest lists R packages this server cannot install: ${invalid.join('; ')}. ` +
          'R package names are letters, digits and dots; versions are numbers separated by dots or dashes. Correct the manifest, or turn R environment management off for this content.',
      );
    }
    const finalDir = path.join(opts.envRoot, key);
    await mkdir(opts.envRoot, { recursive: true });
    const partial = path.join(opts.envRoot, `.partial-${key}-${randomBytes(6).toString('hex')}`);
    // The item's own account when the runtime gives one, else the configured one.
    const account = runAs && (req.account ?? runAs);
    const sandbox =
      account && opts.sandbox ? { sandbox: opts.sandbox, readable: readableFor(req.interpreter.path, opts.repository), source: opts.repository } : undefined;
    const area = await createBuildArea({ runAs: account, buildRoot: opts.buildRoot, partial, sandbox });
    const lib = area.target;
    try {
      const as = account ? ` as an unprivileged account (uid ${account.uid}${sandbox ? ', sandboxed' : ''})` : '';
      req.log(
        `Installing ${toInstall.length} R package${toInstall.length === 1 ? '' : 's'} from ${opts.repository} into environment ${key}${as}: ${toInstall.map(describeRequirement).join(', ')}`,
      );
      const started = Date.now();
      const run = await runRscript(
        req.interpreter,
        ['-e', rCode('install-packages'), lib, opts.repository, String(downloadTimeout), ...toInstall.map((r) => `${r.name}=${r.version ?? ''}`)],
        { cwd: area.work, home: area.work, env: { TMPDIR: area.work }, as: area.spawnAs, timeoutMs: installTimeoutMs, onLine: (l) => req.log(l) },
      );
      if (run.timedOut)
        throw new Error(
          `Installing R packages from ${opts.repository} did not finish within ${Math.round(installTimeoutMs / 1000)} s; stopped. Packages: ${toInstall.map(describeRequirement).join(', ')}`,
        );
      // The library is the server's from here: what the checks read, nobody else can change.
      await area.seal();
      const after = await listLibrary(req.interpreter, lib);
      const plan = planRLibrary(reqs, after);
      // The repository's current version in place of an archived one: a warning, not a failure.
      const substituted = plan.mismatched.filter((m) => m.installed.libPath === lib);
      const failed: RLibraryPlan = { ...plan, mismatched: plan.mismatched.filter((m) => m.installed.libPath !== lib) };
      if (!planIsSatisfied(failed)) {
        const why =
          run.code === 2
            ? `The repository ${opts.repository} could not be reached (no package index at ${opts.repository.replace(/\/+$/, '')}/src/contrib/PACKAGES).`
            : `The repository ${opts.repository} was tried and does not have ${failed.missing.length + failed.mismatched.length === 1 ? 'it' : 'them'} at ${failed.missing.length + failed.mismatched.length === 1 ? 'that version' : 'those versions'}, or installing failed (see the output above).`;
        throw failure(failed, why);
      }
      for (const m of substituted) {
        req.log(`Warning: ${m.requirement.name} ${m.requirement.version ?? ''} is not in ${opts.repository}; installed ${m.installed.version} instead.`);
      }
      await rm(path.join(lib, R_ENV_MARKER), { force: true, recursive: true });
      await writeFile(
        path.join(lib, R_ENV_MARKER),
        JSON.stringify({
          key,
          rVersion: req.interpreter.version,
          repository: opts.repository,
          installed: toInstall.map((r) => `${r.name}@${r.version ?? '*'}`),
          at: new Date().toISOString(),
        }) + '\n',
        { mode: 0o644, flag: 'wx' },
      );
      await area.moveTo(partial);
      // A stale environment of the same key (the server library changed under it) is replaced.
      await rm(finalDir, { recursive: true, force: true });
      try {
        await rename(partial, finalDir);
      } catch (err) {
        if (!existsSync(path.join(finalDir, R_ENV_MARKER))) throw err;
      }
      req.log(
        `Installed ${toInstall.length} R package${toInstall.length === 1 ? '' : 's'} in ${Math.round((Date.now() - started) / 100) / 10} s; the other ${plan.required.length - toInstall.length} come from the server's library.`,
      );
      const inventory = rInventory(reqs, after, lib, req.interpreter.version, true);
      return { key, dir: finalDir, reused: false, executable: req.interpreter.path, env: { R_LIBS: finalDir }, inventory };
    } finally {
      await rm(partial, { recursive: true, force: true });
      await area.dispose();
    }
  }

  async function managed(req: RestoreRequest, key: string, reqs: RPackageRequirement[]): Promise<RestoredEnvironment> {
    const dir = path.join(opts.envRoot, key);
    const cached = existsSync(path.join(dir, R_ENV_MARKER));
    const started = Date.now();
    const realDir = cached ? await realpath(dir) : null;
    const state = await listLibrary(req.interpreter, realDir);
    const full = planRLibrary(reqs, state);
    // Versions the environment installed in place of unavailable ones were warned about then.
    const substituted = full.mismatched.filter((m) => m.installed.libPath === realDir);
    const plan: RLibraryPlan = { ...full, mismatched: full.mismatched.filter((m) => m.installed.libPath !== realDir) };
    const secs = `${Math.round((Date.now() - started) / 10) / 100} s`;
    if (plan.skipped.length) req.log(`Skipping ${plan.skipped.length} of R's base packages the manifest lists: ${plan.skipped.join(', ')}.`);
    if (planIsSatisfied(plan)) {
      if (cached) {
        req.log(`Reusing R environment ${key}: all ${plan.required.length} R packages are installed (checked in ${secs}).`);
        for (const m of substituted)
          req.log(
            `Warning: ${m.requirement.name} is ${m.installed.version} in this environment, not ${m.requirement.version ?? ''} (that version was not in ${opts.repository}).`,
          );
        const inventory = rInventory(reqs, state, realDir, req.interpreter.version, true);
        return { key, dir, reused: true, executable: req.interpreter.path, env: { R_LIBS: dir }, inventory };
      }
      req.log(`All ${plan.required.length} R packages are installed in the server's library (R ${state.rVersion}, checked in ${secs}); nothing to install.`);
      return {
        key,
        dir: null,
        reused: true,
        executable: req.interpreter.path,
        env: {},
        inventory: rInventory(reqs, state, null, req.interpreter.version, true),
      };
    }
    // What the server's library lacks, leaving out a cached environment that no longer suffices.
    const serverPlan = realDir ? planRLibrary(reqs, state, realDir) : plan;
    const toInstall = [...serverPlan.missing, ...serverPlan.mismatched.map((m) => m.requirement)].sort((a, b) => (a.name < b.name ? -1 : 1));
    req.log(
      `${toInstall.length} of ${plan.required.length} R packages are not in the server's library at the required version (exact versions: R environment management is on):`,
    );
    for (const p of describeRPlanProblems(serverPlan)) req.log(`  - ${p}`);
    return install(req, key, reqs, toInstall);
  }

  return {
    async restore(req: RestoreRequest): Promise<RestoredEnvironment> {
      const reqs = rPackageRequirements(req.manifest);
      if (!req.managed) return unmanaged(req, reqs);
      const key = rEnvironmentKey(req.interpreter, reqs, opts.repository);
      // Shared with other builds, exclusive of a removal of the cache (runtime-caches.ts).
      return gate.shared(() => {
        const running = inflight.current(key);
        if (running) {
          req.log(`Waiting for another deploy that is restoring the same R environment (${key}).`);
          return running;
        }
        return inflight.run(key, () => managed(req, key, reqs));
      });
    },
  };
}
