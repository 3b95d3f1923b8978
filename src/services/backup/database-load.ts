import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/index.ts';
import { libpqEnvironment, runPgTool } from './pg-tools.ts';

/**
 * Puts a restored SQLite file at `dest` in one step (a rename, so the server never finds half a
 * database there), 0600 as `openDatabase` keeps it. Across file systems it is copied beside
 * `dest` first, then renamed.
 */
export async function placeSqlite(staged: string, dest: string): Promise<void> {
  await chmod(staged, 0o600);
  await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  try {
    await rename(staged, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const beside = `${dest}.restore-${randomBytes(6).toString('hex')}`;
    try {
      await copyFile(staged, beside);
      await chmod(beside, 0o600);
      await rename(beside, dest);
    } finally {
      await rm(beside, { force: true });
    }
  }
}

/**
 * Loads a `pg_dump` custom-format file into the configured (empty) PostgreSQL database in one
 * transaction: it all lands or none of it does. Owners and grants of the original are not
 * carried over (`--no-owner --no-privileges`): the restored objects belong to the account
 * Lectern connects as, whoever owned them before.
 */
export async function loadPostgres(config: Config, dumpFile: string): Promise<void> {
  const env = libpqEnvironment(config.database.url!);
  const dbname = env.PGDATABASE ?? env.PGUSER ?? 'postgres';
  await runPgTool('pg_restore', ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', `--dbname=${dbname}`, dumpFile], env);
}
