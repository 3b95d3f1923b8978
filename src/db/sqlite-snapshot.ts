import type { Database } from './connect.ts';

/**
 * Writes a consistent copy of an SQLite database to `dest` (which must not exist) while other
 * processes go on writing to it. `VACUUM INTO` reads the whole database in one read
 * transaction, so the copy is the database as of one moment, WAL included, and a writer is
 * never blocked by it (WAL readers do not block writers). A copy of the files themselves would
 * not be: the -wal file holds committed pages the main file does not have yet, and both change
 * while they are read.
 */
export async function snapshotSqlite(db: Database, dest: string): Promise<void> {
  if (db.dialect !== 'sqlite') throw new Error('snapshotSqlite: not an SQLite database');
  await db.knex.raw('VACUUM INTO ?', [dest]);
}
