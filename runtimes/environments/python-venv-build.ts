import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Interpreter } from '../interpreters.ts';
import type { RestoreRequest, RestoredEnvironment } from './environment.ts';
import { createBuildArea, readableFor, run, seconds, tail, type Exec, type RunResult } from './install-area.ts';
import { installFailure, pipArgs, pipInstall, type PipContext } from './pip-install.ts';
import { described, moveIntoPlace, PYTHON_ENV_MARKER, relocateScripts, removeStalePartials } from './python-env-dir.ts';
import type { PythonRestorerOptions } from './python-options.ts';
import { normalizeRequirements } from './python-requirements.ts';

/**
 * Builds one Python environment: a venv in a partial directory (as the install account when
 * there is one), pip from the configured indexes, the marker, then renamed to its key.
 */
export async function buildEnvironment(
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
  const sandbox =
    account && opts.sandbox ? { sandbox: opts.sandbox, readable: readableFor(interpreter.path, opts.indexUrl, ...extra), source: opts.indexUrl } : undefined;
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
      JSON.stringify(
        {
          key,
          interpreter: interpreter.path,
          version: interpreter.version,
          indexUrl: opts.indexUrl,
          extraIndexUrls: extra,
          binaryOnly: opts.binaryOnly ?? false,
          requirements: normalizeRequirements(requirements),
          created: new Date().toISOString(),
        },
        null,
        2,
      ) + '\n',
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
 * What venv and pip see: a fixed PATH and locale, the network variables the server's config
 * passes on (proxies, certificates), and nothing of the server's PIP_* or PYTHON* settings.
 */
function childEnv(home: string, networkEnv: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', ...networkEnv, HOME: home, TMPDIR: home, PIP_CONFIG_FILE: os.devNull, PYTHONNOUSERSITE: '1' };
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
    const hint = /No module named venv|ensurepip is not available/.test(out)
      ? ` Install the Debian package python3-venv (or the venv module for ${interpreter.path}).`
      : '';
    throw new Error(`Could not create a Python environment with ${interpreter.path} -m venv (exit code ${result.code}).${hint}\n${tail(result.lines)}`);
  }
}

function interpreterError(interpreter: Interpreter, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    const debian = interpreter.path.startsWith('/usr/bin/')
      ? ' On Debian it comes with the package python3 (apt-get install python3 python3-venv python3-pip).'
      : '';
    return new Error(
      `The Python interpreter ${interpreter.path} (Python ${interpreter.version}) does not exist on this server.${debian} Install it, or configure the interpreters content may use (server setting runtime.python, LECTERN_PYTHON).`,
    );
  }
  if (code === 'EACCES') return new Error(`The Python interpreter ${interpreter.path} cannot be executed by the server (permission denied).`);
  return err instanceof Error ? err : new Error(String(err));
}
