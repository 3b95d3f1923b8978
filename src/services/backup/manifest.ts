import { z } from 'zod';
import { BackupError } from './backup-error.ts';
import { isBackedUpDataPath } from './data-files.ts';

/**
 * A backup archive is a tar.gz of `data/...` (files of the data directory), `database/<file>`
 * (the database as one consistent snapshot) and, last, `manifest.json`: what made it, the
 * schema, and every file's size, SHA-256 and mode. The checksums find a damaged or truncated
 * archive; they are no protection against someone who rewrites the manifest too (anyone who
 * can do that holds the secret key anyway).
 */
export const MANIFEST_FILE = 'manifest.json';
export const DATA_PREFIX = 'data/';
export const DATABASE_PREFIX = 'database/';
const FORMAT = 'lectern-backup';
const FORMAT_VERSION = 1;

export type DatabaseKind = 'sqlite' | 'postgres';

/** A relative `/`-separated path with nothing to interpret: no `.`, `..`, empty segments or control characters. */
export function isCleanArchivePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || /[\u0000-\u001f\u007f]/.test(p)) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

const archivePath = z.string().refine(isCleanArchivePath, 'not a clean relative path');
const mode = z.string().regex(/^0[0-7]{3}$/, 'not an octal mode like 0644');

const fileEntry = z.object({
  path: archivePath,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'not a SHA-256 in hex'),
  mode,
});

const manifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.literal(FORMAT_VERSION),
  lecternVersion: z.string(),
  createdAt: z.iso.datetime(),
  hostname: z.string(),
  database: z.object({
    kind: z.enum(['sqlite', 'postgres']),
    /** The archive path of the snapshot. */
    file: archivePath,
    /** How it was taken, for people: `VACUUM INTO`, `pg_dump --format=custom`. */
    method: z.string(),
  }),
  /** The migrations the database had applied, in order. */
  schema: z.object({ migrations: z.array(z.string()) }),
  secretKey: z.object({
    /** `file`: the data directory's secret.key, in the archive; `configuration`: set by `secretKey`, not in it. */
    source: z.enum(['file', 'configuration']),
    fingerprint: z.string(),
    file: archivePath.nullable(),
  }),
  directories: z.array(z.object({ path: archivePath, mode })),
  files: z.array(fileEntry),
  /** What of the data directory was left out on purpose, and why. */
  excluded: z.array(z.object({ path: z.string(), reason: z.string() })),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileEntry>;

export function modeString(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

export function modeNumber(mode: string): number {
  return parseInt(mode, 8);
}

export function newManifest(fields: Omit<BackupManifest, 'format' | 'formatVersion'>): BackupManifest {
  return { format: FORMAT, formatVersion: FORMAT_VERSION, ...fields };
}

/**
 * Reads a manifest, refusing one this code cannot restore exactly: not a Lectern backup, a
 * newer format, a path twice, a data path outside what backups carry (so a restore writes
 * nothing else), or a database or key file the file list does not have.
 */
export function parseBackupManifest(text: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BackupError("The archive's manifest.json is not JSON: this is not a Lectern backup, or it is damaged.");
  }
  const head = raw as { format?: unknown; formatVersion?: unknown } | null;
  if (head?.format !== FORMAT) throw new BackupError('The archive is not a Lectern backup (its manifest.json does not say "format": "lectern-backup").');
  if (typeof head.formatVersion === 'number' && head.formatVersion > FORMAT_VERSION) {
    throw new BackupError(
      `The backup was made by a newer Lectern (backup format ${head.formatVersion}; this one reads ${FORMAT_VERSION}): restore it with that version.`,
    );
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new BackupError(`The archive's manifest.json is not valid: ${problems.join('; ')}.`);
  }
  const m = parsed.data;
  const files = new Set(m.files.map((f) => f.path));
  if (!m.database.file.startsWith(DATABASE_PREFIX) || !files.has(m.database.file)) {
    throw new BackupError(`The archive's manifest.json names the database ${m.database.file}, which it does not list as a file.`);
  }
  const paths = new Set<string>();
  for (const p of [...m.directories.map((d) => d.path), ...m.files.map((f) => f.path)]) {
    if (paths.has(p)) throw new BackupError(`The archive's manifest.json lists ${p} twice.`);
    paths.add(p);
    const isData = p.startsWith(DATA_PREFIX) && isBackedUpDataPath(p.slice(DATA_PREFIX.length));
    if (!isData && p !== m.database.file) throw new BackupError(`The archive's manifest.json lists ${p}, which is not part of a Lectern backup.`);
  }
  if (m.secretKey.source === 'file' && (m.secretKey.file !== `${DATA_PREFIX}secret.key` || !files.has(m.secretKey.file))) {
    throw new BackupError("The archive's manifest.json says the secret key is in the archive but does not list data/secret.key.");
  }
  return m;
}
