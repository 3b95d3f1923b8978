import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { KeyedShare, SharedLock } from '../../src/domain/keyed-lock.ts';
import type { Interpreter } from '../interpreters.ts';
import type { EnvironmentRestorer, RestoreRequest, RestoredEnvironment } from './environment.ts';
import { assertCanRunAs } from './install-area.ts';
import { described, isComplete } from './python-env-dir.ts';
import { listPythonPackages } from './python-inventory.ts';
import type { PythonRestorerOptions } from './python-options.ts';
import { checkRequirements, normalizeRequirements, requirementsPolicyError } from './python-requirements.ts';
import { buildEnvironment } from './python-venv-build.ts';

// Part of every key: change it when the way environments are built changes.
const BUILD_VERSION = 'venv-system-site-1';

/**
 * The cache key: interpreter, requirements and indexes, hashed. The requirements policy
 * (checkRequirements) leaves nothing installed that the file's own text does not name.
 */
export function pythonEnvironmentKey(
  interpreter: Interpreter,
  requirements: string,
  indexUrl: string,
  extraIndexUrls: readonly string[] = [],
  binaryOnly = false,
): string {
  const material = JSON.stringify([
    BUILD_VERSION,
    interpreter.path,
    interpreter.version,
    normalizeRequirements(requirements),
    indexUrl,
    [...extraIndexUrls],
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
  const inflight = new KeyedShare<string, RestoredEnvironment>();
  // Shared with other builds, exclusive of a removal of the cache (runtime-caches.ts).
  const gate = opts.gate ?? new SharedLock();

  async function restoreManaged(req: RestoreRequest): Promise<RestoredEnvironment> {
    const { interpreter } = req;
    const { name, text } = await readRequirements(req);
    const { checked, problems } = checkRequirements(text);
    if (problems.length > 0) throw requirementsPolicyError(name, problems);
    const key = pythonEnvironmentKey(interpreter, checked.canonical, opts.indexUrl, extra, opts.binaryOnly ?? false);
    const dir = path.join(opts.envRoot, key);
    if (isComplete(dir)) {
      req.log(`Reusing the Python environment ${key}: nothing to install`);
      return described(key, dir, true);
    }
    const running = inflight.current(key);
    if (running) {
      req.log(`The Python environment ${key} is being built for another deploy; waiting for it`);
      await running;
      req.log(`Reusing the Python environment ${key}: nothing to install`);
      return described(key, dir, true);
    }
    return inflight.run(key, () => buildEnvironment(opts, extra, req, key, dir, name, checked.canonical));
  }

  /** The environment with what it holds; a listing that fails costs the list, never the deploy. */
  async function inventoried(req: RestoreRequest, env: RestoredEnvironment): Promise<RestoredEnvironment> {
    try {
      return { ...env, inventory: await listPythonPackages(req.interpreter, env.dir, req.managed) };
    } catch (err) {
      req.log(`Could not list the environment's packages: ${(err as Error).message}`);
      return { ...env, inventory: null };
    }
  }

  return {
    async restore(req) {
      const { interpreter } = req;
      if (!req.managed) {
        req.log(
          `Environment management is off for this Python content: running with ${interpreter.path} (Python ${interpreter.version}) ` +
            `and the packages installed for it, as they are; the bundle's requirements are not installed.`,
        );
        return inventoried(req, { key: '', dir: null, reused: true, executable: interpreter.path, env: {} });
      }
      return gate.shared(async () => inventoried(req, await restoreManaged(req)));
    },
  };
}

/**
 * The bundle's requirements file, read by the server (installers may not be able to reach the
 * bundle): a regular file inside the bundle, not a link.
 */
export async function readRequirements(req: RestoreRequest): Promise<{ name: string; text: string }> {
  const pm = req.manifest.python?.package_manager;
  const name = pm?.package_file || 'requirements.txt';
  if (pm?.name === 'conda' || /\.ya?ml$/i.test(name)) {
    throw new Error(
      `This server does not restore conda environments (${name}). Deploy with a requirements.txt (pip), or with Python environment management off to use the server's installed packages.`,
    );
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
