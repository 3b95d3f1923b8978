import { chmodSync, statSync } from 'node:fs';

/** A file or directory whose mode was made stricter at start-up, for the log. */
export interface Tightened {
  path: string;
  from: string;
  to: string;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/**
 * Takes away every permission bit of `file` that `allowed` does not have (0o600: the owner's
 * read and write only), leaving it as it is when it has none of them or does not exist.
 */
export function tightenMode(file: string, allowed: number): Tightened | null {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if ((mode & ~allowed) === 0) return null;
  chmodSync(file, mode & allowed);
  return { path: file, from: octal(mode), to: octal(mode & allowed) };
}
