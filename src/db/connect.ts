import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Config } from '../config/index.ts';
import { tightenMode, type Tightened } from '../config/file-modes.ts';

type Dialect = 'sqlite' | 'postgres';

export interface Database {
  knex: Knex;
  dialect: Dialect;
  /** Where it lives, without credentials, for logs. */
  description: string;
}

/** What opening the database needs of the configuration (a worker thread gets only this). */
export type DatabaseConfig = Pick<Config, 'database' | 'dataDir'>;

/** The SQLite file the configuration names: the default, or `database.url` against the data directory. */
export function sqlitePath(config: DatabaseConfig): string {
  const url = config.database.url;
  if (!url) return path.join(config.dataDir, 'lectern.db');
  const p = url.replace(/^sqlite:(\/\/)?/i, '');
  return path.resolve(config.dataDir, p);
}

/**
 * The SQLite file and its WAL companions hold password hashes, key hashes and sessions: the
 * server's alone (0600). SQLite gives the -wal and -shm files the database file's mode, so the
 * file is created 0600 before SQLite opens it (an empty file is an empty database), and files
 * an earlier start left open to others are tightened, every start.
 */
function secureSqliteFiles(filename: string): Tightened[] {
  closeSync(openSync(filename, 'a', 0o600));
  return [filename, `${filename}-wal`, `${filename}-shm`].map((f) => tightenMode(f, 0o600)).filter((t): t is Tightened => !!t);
}

/** A PostgreSQL URL (anything else is an SQLite file). */
export function isPostgresUrl(url: string | undefined): boolean {
  return !!url && /^postgres(ql)?:\/\//i.test(url);
}

/** `tightened` hears of each database file whose mode was made stricter (for the log). */
export function openDatabase(config: DatabaseConfig, tightened: (t: Tightened) => void = () => undefined): Database {
  const url = config.database.url;
  if (url && isPostgresUrl(url)) {
    const knex = knexFactory({
      client: 'pg',
      connection: url,
      pool: { min: 0, max: 10 },
    });
    const u = new URL(url);
    return { knex, dialect: 'postgres', description: `postgres://${u.host}${u.pathname}` };
  }
  const filename = sqlitePath(config);
  mkdirSync(path.dirname(filename), { recursive: true, mode: 0o700 });
  for (const t of secureSqliteFiles(filename)) tightened(t);
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      // better-sqlite3 is synchronous and single-connection; one pooled handle avoids
      // SQLITE_BUSY between our own connections.
      min: 1,
      max: 1,
      afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        conn.pragma('journal_mode = WAL');
        conn.pragma('foreign_keys = ON');
        conn.pragma('busy_timeout = 5000');
        done(null, conn);
      },
    },
  });
  return { knex, dialect: 'sqlite', description: `sqlite:${filename}` };
}

/** True when the database answers a trivial query. */
export async function pingDatabase(db: Database): Promise<boolean> {
  try {
    await db.knex.raw('select 1');
    return true;
  } catch {
    return false;
  }
}
