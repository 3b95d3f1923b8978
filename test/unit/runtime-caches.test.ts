import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedLock } from '../../src/domain/keyed-lock.ts';
import { LocalRuntimeCaches, type CacheRoot } from '../../runtimes/environments/runtime-caches.ts';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An environments root with finished environments of the given versions (and some that are not). */
function root(language: 'Python' | 'R', envs: Record<string, string>): CacheRoot {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-caches-'));
  made.push(dir);
  const [marker, versionField] = language === 'Python' ? ['.lectern-environment.json', 'version'] : ['.lectern-complete', 'rVersion'];
  for (const [key, version] of Object.entries(envs)) {
    mkdirSync(path.join(dir, key));
    writeFileSync(path.join(dir, key, marker), JSON.stringify({ key, [versionField]: version }));
    writeFileSync(path.join(dir, key, 'payload'), 'x');
  }
  // Not caches: a half-built one, one without its marker, a link, the pip cache.
  mkdirSync(path.join(dir, 'aaaa.partial-123'));
  writeFileSync(path.join(dir, 'aaaa.partial-123', marker), JSON.stringify({ [versionField]: '9.9.9' }));
  mkdirSync(path.join(dir, 'unfinished'));
  symlinkSync(path.join(dir, Object.keys(envs)[0]!), path.join(dir, 'link'));
  mkdirSync(path.join(dir, '.pip-cache'));
  return { language, root: dir, marker, versionField, gate: new SharedLock() };
}

describe('LocalRuntimeCaches', () => {
  it('lists one cache per language and version, from finished environments only', async () => {
    const caches = new LocalRuntimeCaches([root('Python', { k1: '3.11.2', k2: '3.11.2', k3: '3.12.1' }), root('R', { r1: '4.2.2' })]);
    expect(await caches.list()).toEqual([
      { language: 'Python', version: '3.11.2', imageName: 'Local' },
      { language: 'Python', version: '3.12.1', imageName: 'Local' },
      { language: 'R', version: '4.2.2', imageName: 'Local' },
    ]);
  });

  it('removes every environment of the version once no build holds the gate, and nothing else', async () => {
    const py = root('Python', { k1: '3.11.2', k2: '3.11.2', k3: '3.12.1' });
    const caches = new LocalRuntimeCaches([py]);
    let release!: () => void;
    const building = py.gate.shared(() => new Promise<void>((r) => (release = r)));
    const moved: string[][] = [];
    const lines: string[] = [];
    const removal = caches.remove(
      { language: 'Python', version: '3.11.2', imageName: 'Local' },
      (l) => lines.push(l),
      async (dirs) => void moved.push(dirs),
    );
    await new Promise((r) => setTimeout(r, 20));
    // A build holds the cache: nothing moved yet.
    expect(moved).toEqual([]);
    expect(readdirSync(py.root)).toContain('k1');
    release();
    await building;
    expect(await removal).toBe(true);
    expect(moved).toEqual([[path.join(py.root, 'k1'), path.join(py.root, 'k2')]]);
    expect(readdirSync(py.root).sort()).toEqual(['.pip-cache', 'aaaa.partial-123', 'k3', 'link', 'unfinished']);
    expect(lines.join('\n')).toMatch(/Removed the Python 3\.11\.2 runtime cache/);
    expect(await caches.list()).toEqual([{ language: 'Python', version: '3.12.1', imageName: 'Local' }]);
  });

  it('answers false for a cache it does not have', async () => {
    const caches = new LocalRuntimeCaches([root('R', { r1: '4.2.2' })]);
    const none = async () => undefined;
    expect(await caches.remove({ language: 'R', version: '4.1.0', imageName: 'Local' }, () => {}, none)).toBe(false);
    expect(await caches.remove({ language: 'R', version: '4.2.2', imageName: 'lectern/r' }, () => {}, none)).toBe(false);
    expect(await caches.remove({ language: 'Python', version: '4.2.2', imageName: 'Local' }, () => {}, none)).toBe(false);
    expect(await caches.list()).toHaveLength(1);
  });
});
