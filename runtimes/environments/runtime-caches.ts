import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KeyedLock, type SharedLock } from '../../src/domain/keyed-lock.ts';
import { LOCAL_IMAGE, type RuntimeCache } from '../../src/domain/runtime-caches.ts';

/**
 * A backend's runtime caches. `remove` moves the cache's environments out of the way while no
 * build holds the cache, tells `moved` their directories (it starts at once, still inside that
 * turn, so nothing restarts from them), waits for it, then deletes them; false when there is
 * no such cache.
 */
export interface RuntimeCacheStore {
  list(): Promise<RuntimeCache[]>;
  remove(cache: RuntimeCache, log: (line: string) => void, moved: (dirs: string[]) => Promise<void>): Promise<boolean>;
}

/** A backend without caches of its own (containers: each bundle's image holds its environment). */
export const NO_RUNTIME_CACHES: RuntimeCacheStore = {
  list: async () => [],
  remove: async () => false,
};

/** One language's environments on this machine: `<root>/<key>`, finished when `marker` is there. */
export interface CacheRoot {
  language: RuntimeCache['language'];
  root: string;
  /** The file written last into a finished environment; its JSON names the language version. */
  marker: string;
  /** The marker's field holding the version (`version` for Python, `rVersion` for R). */
  versionField: string;
  /** The restorer's gate: builds hold it shared, a removal alone. */
  gate: SharedLock;
}

// What a removal moves an environment to, under the same root, until it is deleted.
const REMOVING = '.removing-';

/**
 * The local backend's runtime caches, in Connect's terms: for each language and version, the
 * environments restored with that installation (`<dataDir>/envs/python/<key>` venvs and
 * `<dataDir>/envs/r/<key>` libraries). Only finished environments count; an R library from
 * before its marker named R's version is not listed. pip's download cache is left alone.
 */
export class LocalRuntimeCaches implements RuntimeCacheStore {
  // One removal per language at a time, start to end: each deletes what the others left.
  private readonly removals = new KeyedLock<string>();

  constructor(private readonly roots: readonly CacheRoot[]) {}

  async list(): Promise<RuntimeCache[]> {
    const out: RuntimeCache[] = [];
    for (const root of this.roots) {
      const versions = new Set((await environments(root)).map((e) => e.version));
      for (const version of [...versions].sort()) out.push({ language: root.language, version, imageName: LOCAL_IMAGE });
    }
    return out;
  }

  remove(cache: RuntimeCache, log: (line: string) => void, moved: (dirs: string[]) => Promise<void>): Promise<boolean> {
    const root = this.roots.find((r) => r.language === cache.language);
    if (!root || cache.imageName !== LOCAL_IMAGE) return Promise.resolve(false);
    return this.removals.run(root.language, () => this.removeFrom(root, cache, log, moved));
  }

  private async removeFrom(root: CacheRoot, cache: RuntimeCache, log: (line: string) => void, moved: (dirs: string[]) => Promise<void>): Promise<boolean> {
    const away: string[] = [];
    const taken = await root.gate.exclusive(async () => {
      const envs = (await environments(root)).filter((e) => e.version === cache.version);
      if (envs.length === 0) return null;
      log(`Removing the ${cache.language} ${cache.version} runtime cache: ${envs.length} environment${envs.length === 1 ? '' : 's'}.`);
      // A rename is atomic: a build after this turn finds no environment and makes a new one.
      for (const e of envs) {
        const to = path.join(root.root, `${REMOVING}${randomBytes(6).toString('hex')}`);
        await rename(e.dir, to);
        away.push(to);
      }
      return { stopping: moved(envs.map((e) => e.dir)) };
    });
    if (!taken) return false;
    await taken.stopping;
    for (const dir of away) await rm(dir, { recursive: true, force: true });
    // Left by a removal the server did not live to finish.
    for (const name of await readdir(root.root).catch(() => [] as string[])) {
      if (name.startsWith(REMOVING)) await rm(path.join(root.root, name), { recursive: true, force: true });
    }
    log(`Removed the ${cache.language} ${cache.version} runtime cache; content that used it builds its environment again when it next deploys or starts.`);
    return true;
  }
}

/** The finished environments under a root, with their language version: directories, never links. */
async function environments(root: CacheRoot): Promise<{ dir: string; version: string }[]> {
  const out: { dir: string; version: string }[] = [];
  for (const name of (await readdir(root.root).catch(() => [] as string[])).sort()) {
    if (name.startsWith('.') || name.includes('.partial-')) continue;
    const dir = path.join(root.root, name);
    const info = await lstat(dir).catch(() => null);
    if (!info?.isDirectory()) continue;
    const marker = await readFile(path.join(dir, root.marker), 'utf8').catch(() => null);
    if (marker === null || marker.length > 1_000_000) continue;
    let version: unknown;
    try {
      version = (JSON.parse(marker) as Record<string, unknown>)[root.versionField];
    } catch {
      continue;
    }
    if (typeof version === 'string' && /^[0-9][0-9A-Za-z.+-]{0,63}$/.test(version)) out.push({ dir, version });
  }
  return out;
}
