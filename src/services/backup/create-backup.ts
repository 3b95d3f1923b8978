import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../config/index.ts';
import { isPostgresUrl, openDatabase, sqlitePath, type Database } from '../../db/connect.ts';
import { recordedMigrations } from '../../db/migrate.ts';
import { LECTERN_VERSION } from '../../version.ts';
import { BackupError } from './backup-error.ts';
import { listDataFiles, type DataEntry } from './data-files.ts';
import { dumpDatabase } from './database-dump.ts';
import { DATA_PREFIX, DATABASE_PREFIX, MANIFEST_FILE, modeString, newManifest, type BackupManifest, type ManifestFile } from './manifest.ts';
import { keyFingerprint, keyInUse, SECRET_KEY_FILE } from './secret-key-check.ts';
import { TarGzWriter } from './tar-writer.ts';

export interface BackupSummary {
  file: string;
  bytes: number;
  files: number;
  manifest: BackupManifest;
}

/** The database a backup reads, opened without migrating it: a backup changes nothing. */
function openForBackup(config: Config): Database {
  if (!isPostgresUrl(config.database.url)) {
    const file = sqlitePath(config);
    // openDatabase would create an empty one, and the backup of a mistyped path would succeed.
    if (!existsSync(file))
      throw new BackupError(`There is no database at ${file}: is ${config.dataDir} this server's data directory (dataDir, LECTERN_DATA_DIR)?`);
  }
  return openDatabase(config);
}

/** Top-level entries of the data directory another step carries, or that must stay out, and why. */
function carriedElsewhere(config: Config, db: Database, databaseName: string, keySource: 'file' | 'configuration'): Map<string, string> {
  const m = new Map<string, string>();
  if (db.dialect === 'sqlite') {
    const file = sqlitePath(config);
    const why = `the database: in the archive as ${DATABASE_PREFIX}${databaseName}, one consistent snapshot rather than the live files`;
    for (const f of [file, `${file}-wal`, `${file}-shm`]) m.set(f, why);
  }
  if (keySource === 'configuration') {
    m.set(path.join(config.dataDir, SECRET_KEY_FILE), 'not the key in use: the server takes its key from the configuration (secretKey, LECTERN_SECRET_KEY)');
  }
  return m;
}

async function syncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * Writes a backup of a server's database and data directory to `file`, while the server runs.
 *
 * Order matters for consistency: the bundles and renders first, then the database snapshot,
 * then whatever files appeared meanwhile. Both are written before their rows point at them
 * (a render is renamed into place before its rendering is recorded; a bundle's row and its
 * rename are one step apart), and never changed once there, so every row of the snapshot finds
 * its files in the archive. A file removed meanwhile may be there without a row: harmless.
 * secret.key and content-uids.json are read last. The archive is written under a temporary
 * name beside `file` and renamed once complete and fsynced: `file` is whole or absent.
 */
export async function createBackup(config: Config, file: string): Promise<BackupSummary> {
  const dest = path.resolve(file);
  if (existsSync(dest)) throw new BackupError(`${dest} already exists: a backup never replaces a file, so choose a new name.`);
  const key = keyInUse(config);
  const db = openForBackup(config);
  const partial = `${dest}.partial-${randomBytes(6).toString('hex')}`;
  let work: string | null = null;
  let writer: TarGzWriter | null = null;
  try {
    const migrations = await recordedMigrations(db.knex);
    if (!migrations.length) throw new BackupError(`The database (${db.description}) has no Lectern schema: is this the server's database?`);
    work = await mkdtemp(path.join(path.dirname(dest), '.lectern-backup-'));
    writer = await TarGzWriter.create(partial);
    const w = writer;
    const files: ManifestFile[] = [];
    const directories: BackupManifest['directories'] = [];
    const archived = new Set<string>();
    const add = async (entries: DataEntry[]) => {
      for (const e of entries) {
        if (archived.has(e.rel)) continue;
        const archivePath = DATA_PREFIX + e.rel;
        if (e.type === 'directory') {
          await w.addDirectory(archivePath, e.mode);
          directories.push({ path: archivePath, mode: modeString(e.mode) });
        } else {
          try {
            files.push({ path: archivePath, ...(await w.addFile(e.abs, archivePath, e.mode)), mode: modeString(e.mode) });
          } catch (err) {
            // Removed since it was listed (a pruned render, a deleted bundle): nothing to keep.
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
            throw err;
          }
        }
        archived.add(e.rel);
      }
    };

    const dumpName = db.dialect === 'sqlite' ? 'lectern.db' : 'lectern.pgdump';
    const otherwise = carriedElsewhere(config, db, dumpName, key.source);
    const first = await listDataFiles(config.dataDir, otherwise);
    await add(first.entries.filter((e) => e.rel.includes('/') || e.type === 'directory'));

    const dump = await dumpDatabase(config, db, work);
    const dumpPath = DATABASE_PREFIX + dump.name;
    files.push({ path: dumpPath, ...(await w.addFile(dump.file, dumpPath, 0o600)), mode: '0600' });
    await rm(dump.file, { force: true });
    const after = await recordedMigrations(db.knex);
    if (after.join('\n') !== migrations.join('\n')) {
      throw new BackupError('The database schema changed while the backup ran (a server being upgraded?): run the backup again.');
    }

    const second = await listDataFiles(config.dataDir, otherwise);
    await add(second.entries);
    const keyFile = key.source === 'file' ? DATA_PREFIX + SECRET_KEY_FILE : null;
    if (keyFile && !archived.has(SECRET_KEY_FILE)) throw new BackupError(`${key.file} went away while the backup ran.`);

    const manifest = newManifest({
      lecternVersion: LECTERN_VERSION,
      createdAt: new Date().toISOString(),
      hostname: os.hostname(),
      database: { kind: db.dialect, file: dumpPath, method: dump.method },
      schema: { migrations },
      secretKey: { source: key.source, fingerprint: keyFingerprint(key.key), file: keyFile },
      directories,
      files,
      excluded: second.leftOut,
    });
    await w.addBuffer(MANIFEST_FILE, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 0o600);
    await w.finish();
    writer = null;
    await rename(partial, dest);
    await syncDirectory(path.dirname(dest));
    const { size } = await stat(dest);
    return { file: dest, bytes: size, files: files.length, manifest };
  } catch (err) {
    await writer?.abort();
    await rm(partial, { force: true });
    throw err;
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
    await db.knex.destroy();
  }
}
