import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RestoredEnvironment } from './environment.ts';

// A finished Python environment on disk: what marks it complete, how it is moved into place.

/** Written last into a finished environment: its presence means "complete". */
export const PYTHON_ENV_MARKER = '.lectern-environment.json';

/** A finished environment as the runner uses it. */
export function described(key: string, dir: string, reused: boolean): RestoredEnvironment {
  return { key, dir, reused, executable: path.join(dir, 'bin', 'python'), env: { VIRTUAL_ENV: dir, PATH_PREPEND: path.join(dir, 'bin') } };
}

/** Complete: the marker is there and the venv's python still resolves to an interpreter. */
export function isComplete(dir: string): boolean {
  return existsSync(path.join(dir, PYTHON_ENV_MARKER)) && existsSync(path.join(dir, 'bin', 'python'));
}

/**
 * pip writes the venv's path into the scripts it installs (`#!<venv>/bin/python`) and venv
 * into activate: make them name where the environment ends up, never the build directory.
 */
export async function relocateScripts(built: string, final: string): Promise<void> {
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
export async function removeStalePartials(envRoot: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of await readdir(envRoot)) {
    if (!name.includes('.partial-')) continue;
    const full = path.join(envRoot, name);
    const info = await stat(full).catch(() => null);
    if (info && info.mtimeMs < dayAgo) await rm(full, { recursive: true, force: true });
  }
}

/** Renames the finished venv to its key; if another process got there first, uses theirs. */
export async function moveIntoPlace(partial: string, dir: string): Promise<void> {
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
