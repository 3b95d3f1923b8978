import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/index.ts';
import { isPostgresUrl, openDatabase, sqlitePath } from '../../db/connect.ts';
import { postgresRelations } from '../../db/database-contents.ts';
import { knownMigrations } from '../../db/migrate.ts';
import { BackupError } from './backup-error.ts';
import { loadPostgres, placeSqlite } from './database-load.ts';
import { extractArchive } from './extract-archive.ts';
import type { BackupManifest, DatabaseKind } from './manifest.ts';
import { inspectTarget, Staging, type Target } from './restore-target.ts';
import { keyFingerprint } from './secret-key-check.ts';
import { verifyArchive } from './verify-archive.ts';

export interface RestoreSummary {
  dataDir: string;
  database: string;
  files: number;
  manifest: BackupManifest;
  /** Migrations this code has that the backup's schema lacks: the server applies them when it starts. */
  pending: string[];
}

const describeKind = (k: DatabaseKind) => (k === 'sqlite' ? 'SQLite' : 'PostgreSQL');

/** The archive's schema against this code's migrations: refused when it has one this code does not know. */
function pendingMigrations(manifest: BackupManifest): string[] {
  const known = knownMigrations();
  const unknown = manifest.schema.migrations.filter((m) => !known.includes(m));
  if (unknown.length) {
    throw new BackupError(
      `The backup's database has migrations this Lectern (${knownMigrations().length} known) does not: ${unknown.join(', ')}. ` +
        `It was made by a newer version (Lectern ${manifest.lecternVersion}): restore it with that version or a later one.`,
    );
  }
  return known.filter((m) => !manifest.schema.migrations.includes(m));
}

/** The key the restored server will use must be the one the backup's data was encrypted with. */
function checkKey(config: Config, manifest: BackupManifest, target: Target): void {
  const expected = manifest.secretKey.fingerprint;
  const why = 'content variables, the SMTP password and git credentials are encrypted with it, and sessions are signed with it';
  if (config.secretKey && keyFingerprint(Buffer.from(config.secretKey, 'base64')) !== expected) {
    throw new BackupError(
      `The configured secret key (secretKey, LECTERN_SECRET_KEY) is not the one this backup was made with (${why}): set the original key, or none to use the backup's.`,
    );
  }
  if (target.key && keyFingerprint(target.key) !== expected) {
    throw new BackupError(`${path.join(target.dir, 'secret.key')} holds a different secret key from the backup's (${why}): remove it, or restore elsewhere.`);
  }
  if (manifest.secretKey.source === 'configuration' && !config.secretKey) {
    throw new BackupError(
      'The backup was made by a server whose secret key came from its configuration, so the key is not in the archive: set the same key (secretKey, LECTERN_SECRET_KEY) and restore again.',
    );
  }
}

/** An SQLite file outside the data directory must be new too (an empty file is what a first open leaves). */
async function checkSqliteTarget(file: string): Promise<void> {
  for (const f of [file, `${file}-wal`]) {
    const st = await lstat(f).catch(() => null);
    if (st && (!st.isFile() || st.size > 0))
      throw new BackupError(`${f} already exists: restore into a new database, so nothing of another server's is mixed with the backup's.`);
  }
}

async function checkPostgresEmpty(config: Config): Promise<string> {
  const db = openDatabase(config);
  try {
    const found = await postgresRelations(db);
    if (found.length) {
      throw new BackupError(
        `The database ${db.description} is not empty (it holds ${found.join(', ')}): restore into a new, empty database (createdb) so nothing of another server's is mixed with the backup's.`,
      );
    }
    return db.description;
  } finally {
    await db.knex.destroy();
  }
}

/**
 * Restores a backup into `config.dataDir` and the configured database, both new. Everything is
 * checked before anything is written: the target empty, the archive whole (every checksum),
 * the database kind, the schema no newer than this code, the secret key the same. Then the
 * archive is unpacked into a staging directory inside the target (checked again as it is
 * written), its files are moved into place, and the database goes last, in one step (a rename
 * of the SQLite file, one pg_restore transaction); if that fails, the files are taken back out.
 */
export async function restoreBackup(config: Config, file: string): Promise<RestoreSummary> {
  const archive = path.resolve(file);
  if (!(await lstat(archive).catch(() => null))?.isFile()) throw new BackupError(`${archive} is not a file.`);
  const kind: DatabaseKind = isPostgresUrl(config.database.url) ? 'postgres' : 'sqlite';
  const target = await inspectTarget(config.dataDir);
  const sqliteFile = kind === 'sqlite' ? sqlitePath(config) : null;
  if (sqliteFile) await checkSqliteTarget(sqliteFile);

  const manifest = await verifyArchive(archive);
  if (manifest.database.kind !== kind) {
    throw new BackupError(
      `The backup holds a ${describeKind(manifest.database.kind)} database and this server is configured for ${describeKind(kind)} (database.url, LECTERN_DATABASE_URL): ` +
        'a restore does not convert between them.',
    );
  }
  const pending = pendingMigrations(manifest);
  checkKey(config, manifest, target);
  const database = kind === 'postgres' ? await checkPostgresEmpty(config) : `sqlite:${sqliteFile}`;

  const staging = await Staging.begin(target);
  try {
    await extractArchive(archive, manifest, staging.root);
  } catch (err) {
    await staging.rollback();
    throw err;
  }
  try {
    await staging.commitData();
    const staged = path.join(staging.root, ...manifest.database.file.split('/'));
    if (sqliteFile) await placeSqlite(staged, sqliteFile);
    else await loadPostgres(config, staged);
  } catch (err) {
    await staging.rollback();
    const reason = (err instanceof Error ? err.message : String(err)).trim().replace(/\.$/, '');
    throw new BackupError(`${reason}. Nothing was restored: the data directory and the database are as they were.`);
  }
  await staging.done();
  return { dataDir: config.dataDir, database, files: manifest.files.length, manifest, pending };
}
