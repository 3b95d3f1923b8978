import path from 'node:path';
import type { Config } from '../../config/index.ts';
import type { Database } from '../../db/connect.ts';
import { snapshotSqlite } from '../../db/sqlite-snapshot.ts';
import { libpqEnvironment, runPgTool } from './pg-tools.ts';

export interface DatabaseDump {
  /** The snapshot's file, in `workDir`. */
  file: string;
  /** Its name in the archive's `database/`. */
  name: string;
  method: string;
}

/**
 * A consistent copy of the database as of one moment, taken while the server goes on writing:
 * SQLite by `VACUUM INTO`, PostgreSQL by `pg_dump` (one repeatable-read transaction), in its
 * custom format uncompressed (the archive is compressed once, as a whole). pg_dump gets the
 * connection, password included, in its environment only.
 */
export async function dumpDatabase(config: Config, db: Database, workDir: string): Promise<DatabaseDump> {
  if (db.dialect === 'sqlite') {
    const file = path.join(workDir, 'lectern.db');
    await snapshotSqlite(db, file);
    return { file, name: 'lectern.db', method: 'SQLite VACUUM INTO' };
  }
  const file = path.join(workDir, 'lectern.pgdump');
  await runPgTool('pg_dump', ['--format=custom', '--compress=0', '--no-sync', `--file=${file}`], libpqEnvironment(config.database.url!));
  return { file, name: 'lectern.pgdump', method: 'pg_dump --format=custom' };
}
