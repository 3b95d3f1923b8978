import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { BackupError } from './backup-error.ts';
import { readKeyFile, SECRET_KEY_FILE } from './secret-key-check.ts';

/** A fresh file system's own directory: a volume mounted as the data directory has one. */
const LOST_AND_FOUND = 'lost+found';

export interface Target {
  dir: string;
  existed: boolean;
  /** The key of a secret.key already there (a restore never replaces it). */
  key: Buffer | null;
}

/**
 * What a restore may find where it writes: nothing, or an empty directory, with at most a
 * secret.key (checked against the archive's by the caller) and a file system's lost+found.
 * Anything else is another server's data, which a restore must not mix with the backup's.
 */
export async function inspectTarget(dir: string): Promise<Target> {
  let names: string[];
  try {
    if (!(await lstat(dir)).isDirectory()) throw new BackupError(`${dir} is not a directory: restore into a new, empty data directory.`);
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { dir, existed: false, key: null };
    throw err;
  }
  const others = names.filter((n) => n !== SECRET_KEY_FILE && n !== LOST_AND_FOUND).sort();
  if (others.length) {
    const shown = others.slice(0, 5).join(', ') + (others.length > 5 ? `, and ${others.length - 5} more` : '');
    throw new BackupError(
      `${dir} is not empty (it holds ${shown}): restore into a new, empty data directory, so nothing of another server's is mixed with the backup's.`,
    );
  }
  return { dir, existed: true, key: names.includes(SECRET_KEY_FILE) ? readKeyFile(path.join(dir, SECRET_KEY_FILE)) : null };
}

/**
 * The restore's work area inside the target (same file system, so committing is renames),
 * and the way back: until `done`, `rollback` leaves the target as it was found (removed again
 * if the restore created it).
 */
export class Staging {
  private readonly moved: string[] = [];

  private constructor(
    private readonly target: Target,
    readonly root: string,
  ) {}

  static async begin(target: Target): Promise<Staging> {
    if (!target.existed) await mkdir(target.dir, { recursive: true, mode: 0o700 });
    try {
      return new Staging(target, await mkdtemp(path.join(target.dir, '.lectern-restore-')));
    } catch (err) {
      if (!target.existed) await rm(target.dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Where the archive's `data/` was unpacked. */
  get dataRoot(): string {
    return path.join(this.root, 'data');
  }

  /**
   * Moves the unpacked data directory's entries into the target, a rename each; a secret.key
   * the target has already (the same key: checked before) is kept as it is.
   */
  async commitData(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dataRoot);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names.sort()) {
      if (name === SECRET_KEY_FILE && this.target.key) continue;
      const dest = path.join(this.target.dir, name);
      await rename(path.join(this.dataRoot, name), dest);
      this.moved.push(dest);
    }
    if (!this.target.key && names.includes(SECRET_KEY_FILE)) await chmod(path.join(this.target.dir, SECRET_KEY_FILE), 0o600);
    await chmod(this.target.dir, 0o700);
  }

  async done(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  async rollback(): Promise<void> {
    for (const p of this.moved.reverse()) await rm(p, { recursive: true, force: true });
    await rm(this.root, { recursive: true, force: true });
    if (!this.target.existed) await rm(this.target.dir, { recursive: true, force: true });
  }
}
