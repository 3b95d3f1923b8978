import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { archiveProblems, describeProblems, type SeenEntry } from '../../src/services/backup/archive-check.ts';
import { isBackedUpDataPath } from '../../src/services/backup/data-files.ts';
import { isCleanArchivePath, newManifest, parseBackupManifest, type BackupManifest } from '../../src/services/backup/manifest.ts';
import { libpqEnvironment } from '../../src/services/backup/pg-tools.ts';
import { keyFingerprint } from '../../src/services/backup/secret-key-check.ts';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function manifest(over: Partial<BackupManifest> = {}): BackupManifest {
  return newManifest({
    lecternVersion: '0.1.0',
    createdAt: '2026-12-03T17:00:00.000Z',
    hostname: 'lectern-1',
    database: { kind: 'sqlite', file: 'database/lectern.db', method: 'SQLite VACUUM INTO' },
    schema: { migrations: ['20261121-001-initial'] },
    secretKey: { source: 'file', fingerprint: 'hmac-sha256:00', file: 'data/secret.key' },
    directories: [{ path: 'data/bundles', mode: '0700' }],
    files: [
      { path: 'data/bundles/1.tar.gz', size: 10, sha256: SHA_A, mode: '0644' },
      { path: 'database/lectern.db', size: 4096, sha256: SHA_B, mode: '0600' },
      { path: 'data/secret.key', size: 45, sha256: SHA_A, mode: '0600' },
    ],
    excluded: [{ path: 'tmp', reason: 'uploads being received' }],
    ...over,
  });
}

const text = (m: unknown) => JSON.stringify(m);

describe('the backup manifest', () => {
  it('reads back what was written', () => {
    const m = manifest();
    expect(parseBackupManifest(text(m))).toEqual(m);
  });

  it('refuses what is not a Lectern backup, or a newer format, in plain words', () => {
    expect(() => parseBackupManifest('{not json')).toThrow(/not JSON/);
    expect(() => parseBackupManifest(text({ format: 'something-else' }))).toThrow(/not a Lectern backup/);
    expect(() => parseBackupManifest(text({ ...manifest(), formatVersion: 2 }))).toThrow(/newer Lectern \(backup format 2/);
    expect(() => parseBackupManifest(text({ ...manifest(), files: [{ path: 'data/x', size: -1, sha256: 'zz', mode: '644' }] }))).toThrow(
      /manifest.json is not valid: files\.0\.size/,
    );
  });

  it('refuses paths a restore must never write: outside what backups carry, unclean, or twice', () => {
    const withFile = (p: string) => text(manifest({ files: [...manifest().files, { path: p, size: 1, sha256: SHA_A, mode: '0600' }] }));
    expect(() => parseBackupManifest(withFile('data/tmp/upload'))).toThrow(/data\/tmp\/upload, which is not part of a Lectern backup/);
    expect(() => parseBackupManifest(withFile('data/lectern.db'))).toThrow(/not part of a Lectern backup/);
    expect(() => parseBackupManifest(withFile('data/bundles/../../etc/passwd'))).toThrow(/not a clean relative path/);
    expect(() => parseBackupManifest(withFile('/etc/passwd'))).toThrow(/not a clean relative path/);
    expect(() => parseBackupManifest(withFile('data/bundles/1.tar.gz'))).toThrow(/lists data\/bundles\/1.tar.gz twice/);
  });

  it('refuses a database or secret key the file list does not have', () => {
    expect(() => parseBackupManifest(text(manifest({ database: { kind: 'sqlite', file: 'database/other.db', method: 'x' } })))).toThrow(
      /names the database database\/other.db/,
    );
    const noKey = manifest();
    noKey.files = noKey.files.filter((f) => f.path !== 'data/secret.key');
    expect(() => parseBackupManifest(text(noKey))).toThrow(/does not list data\/secret.key/);
    // A key from the configuration is not in the archive, and that is fine.
    expect(parseBackupManifest(text({ ...noKey, secretKey: { source: 'configuration', fingerprint: 'x', file: null } })).secretKey.file).toBeNull();
  });

  it('knows clean archive paths and which data paths a backup carries', () => {
    expect(isCleanArchivePath('data/bundles/a b/c.txt')).toBe(true);
    for (const p of ['', '/x', 'a//b', 'a/./b', 'a/../b', '..', 'a\\b', 'a\nb', 'a/']) expect(isCleanArchivePath(p), p).toBe(false);
    for (const p of ['secret.key', 'content-uids.json', 'bundles', 'bundles/x/1.tar.gz', 'renders/g/1/render-a-000000/index.html']) {
      expect(isBackedUpDataPath(p), p).toBe(true);
    }
    for (const p of ['tmp/x', 'envs/python/x', 'jobs/g/k/log.jsonl', 'lectern.db', 'secret.key/x', 'server-id', 'git'])
      expect(isBackedUpDataPath(p), p).toBe(false);
  });
});

describe('checking an archive against its manifest', () => {
  const m = manifest();
  const all = (): Map<string, SeenEntry> =>
    new Map<string, SeenEntry>([
      ['data/bundles', { type: 'directory' }],
      ['data/bundles/1.tar.gz', { type: 'file', size: 10, sha256: SHA_A }],
      ['database/lectern.db', { type: 'file', size: 4096, sha256: SHA_B }],
      ['data/secret.key', { type: 'file', size: 45, sha256: SHA_A }],
    ]);

  it('finds nothing wrong when every entry agrees', () => {
    expect(archiveProblems(m, all())).toEqual([]);
  });

  it('names each file missing, cut short, changed, unlisted or twice', () => {
    const seen = all();
    seen.delete('data/secret.key');
    seen.set('data/bundles/1.tar.gz', { type: 'file', size: 10, sha256: SHA_B });
    seen.set('database/lectern.db', { type: 'file', size: 1024, sha256: SHA_B });
    seen.set('data/bundles/extra', { type: 'file', size: 1, sha256: SHA_A });
    expect(archiveProblems(m, seen, ['data/bundles/1.tar.gz'])).toEqual([
      'data/bundles/1.tar.gz is in the archive more than once',
      'data/bundles/1.tar.gz does not match its SHA-256 checksum',
      'database/lectern.db is 1024 bytes, not the 4096 the manifest says',
      'data/secret.key is missing from the archive',
      'data/bundles/extra is in the archive but not in its manifest',
    ]);
  });

  it('takes the directories tar adds above listed paths, but no other', () => {
    const seen = all();
    seen.set('data', { type: 'directory' });
    seen.set('database', { type: 'directory' });
    expect(archiveProblems(m, seen)).toEqual([]);
    seen.set('data/renders', { type: 'directory' });
    expect(archiveProblems(m, seen)).toEqual(['data/renders is in the archive but not in its manifest']);
  });

  it('tells a directory from a file', () => {
    const seen = all();
    seen.set('data/bundles', { type: 'file', size: 0, sha256: SHA_A });
    expect(archiveProblems(m, seen)).toEqual(['data/bundles is a file in the archive, a directory in the manifest']);
  });

  it('shows the first problems and counts the rest', () => {
    expect(describeProblems(['a', 'b', 'c'], 2)).toBe('a; b; and 1 more');
    expect(describeProblems(['a'])).toBe('a');
  });
});

describe("PostgreSQL's client programs", () => {
  it('get the connection in their environment, the password never on a command line', () => {
    const env = libpqEnvironment('postgres://lectern:s%40cret@db.example.com:5433/lectern_prod?sslmode=verify-full&sslrootcert=/etc/ca.pem', {
      PATH: '/usr/bin',
      PGCONNECT_TIMEOUT: '5',
      SECRET_OF_SOMETHING_ELSE: 'x',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      PGCONNECT_TIMEOUT: '5',
      PGHOST: 'db.example.com',
      PGPORT: '5433',
      PGUSER: 'lectern',
      PGPASSWORD: 's@cret',
      PGDATABASE: 'lectern_prod',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/etc/ca.pem',
    });
  });

  it("read node-postgres's ssl=true, a socket directory and an IPv6 address as libpq would", () => {
    expect(libpqEnvironment('postgres://u@db/x?ssl=true', {}).PGSSLMODE).toBe('require');
    expect(libpqEnvironment('postgres://u@%2Fvar%2Frun%2Fpostgresql/x', {}).PGHOST).toBe('/var/run/postgresql');
    expect(libpqEnvironment('postgres://u@localhost/x?host=/tmp/pg', {}).PGHOST).toBe('/tmp/pg');
    expect(libpqEnvironment('postgresql://u@[::1]:5432/x', {}).PGHOST).toBe('::1');
  });
});

describe('the secret key fingerprint', () => {
  it('is the same for the same key, differs for another, and does not show the key', () => {
    const key = randomBytes(32);
    expect(keyFingerprint(Buffer.from(key))).toBe(keyFingerprint(key));
    expect(keyFingerprint(randomBytes(32))).not.toBe(keyFingerprint(key));
    expect(keyFingerprint(key)).not.toContain(key.toString('hex'));
    expect(keyFingerprint(key)).not.toContain(key.toString('base64'));
  });
});
