import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listDataFiles } from '../../src/services/backup/data-files.ts';
import { extractArchive } from '../../src/services/backup/extract-archive.ts';
import { modeString, newManifest, type BackupManifest, type ManifestFile } from '../../src/services/backup/manifest.ts';
import { TarGzWriter } from '../../src/services/backup/tar-writer.ts';
import { verifyArchive } from '../../src/services/backup/verify-archive.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-backup-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
// Longer than a ustar name field (100 bytes) and its prefix: needs a pax header.
const LONG = `data/bundles/${'d'.repeat(120)}/${'f'.repeat(140)}.txt`;

/** A data directory as a server leaves it, with work in progress and things a backup leaves out. */
function dataDir(): string {
  const d = path.join(dir, 'data');
  const files: Record<string, string> = {
    'secret.key': 'a2V5\n',
    'lectern.db': 'live database',
    'bundles/g1/1.tar.gz': 'archive',
    'bundles/g1/1/index.html': '<h1>hi</h1>',
    'bundles/g1/staging-abc/index.html': 'half received',
    'renders/g2/3/render-x-000000/index.html': 'rendered',
    'renders/g2/3/render-y-000000.partial/index.html': 'rendering',
    'tmp/upload-1': 'incoming',
    'envs/python/x/marker': 'env',
    'jobs/g2/k/log.jsonl': 'log',
    'notes.txt': "an administrator's",
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, rel)), { recursive: true });
    writeFileSync(path.join(d, rel), content);
  }
  chmodSync(path.join(d, 'bundles/g1/1/index.html'), 0o644);
  chmodSync(path.join(d, 'renders/g2/3/render-x-000000/index.html'), 0o600);
  return d;
}

describe('what a backup takes of the data directory', () => {
  it('takes bundles, renders and the key, and says why it leaves out the rest', async () => {
    const d = dataDir();
    const { entries, leftOut } = await listDataFiles(d, new Map([[path.join(d, 'lectern.db'), 'the database: snapshot']]));
    expect(entries.filter((e) => e.type === 'file').map((e) => e.rel)).toEqual([
      'bundles/g1/1/index.html',
      'bundles/g1/1.tar.gz',
      'renders/g2/3/render-x-000000/index.html',
      'secret.key',
    ]);
    // Directories before what they hold.
    expect(entries.map((e) => e.rel).indexOf('bundles/g1')).toBeLessThan(entries.map((e) => e.rel).indexOf('bundles/g1/1.tar.gz'));
    expect(entries.find((e) => e.rel === 'renders/g2/3/render-x-000000/index.html')?.mode).toBe(0o600);
    expect(Object.fromEntries(leftOut.map((l) => [l.path, l.reason]))).toEqual({
      'bundles/g1/staging-abc': 'a bundle being received',
      'renders/g2/3/render-y-000000.partial': 'a render under way',
      envs: expect.stringContaining('rebuilt'),
      jobs: expect.stringContaining('logs'),
      'lectern.db': 'the database: snapshot',
      'notes.txt': 'not a file Lectern keeps',
      tmp: expect.stringContaining('uploads'),
    });
  });
});

/** Writes `files` (archive path → content) and their manifest as a backup archive would. */
async function writeArchive(file: string, files: Record<string, string>): Promise<BackupManifest> {
  const src = path.join(dir, 'src');
  const w = await TarGzWriter.create(file);
  const listed: ManifestFile[] = [];
  const directories: BackupManifest['directories'] = [];
  await w.addDirectory('data/bundles', 0o700);
  directories.push({ path: 'data/bundles', mode: '0700' });
  for (const [p, content] of Object.entries(files)) {
    const abs = path.join(src, p);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    const mode = p.endsWith('.html') ? 0o644 : 0o600;
    const written = await w.addFile(abs, p, mode);
    expect(written).toEqual({ size: Buffer.byteLength(content), sha256: sha256(content) });
    listed.push({ path: p, ...written, mode: modeString(mode) });
  }
  const manifest = newManifest({
    lecternVersion: '0.1.0',
    createdAt: new Date().toISOString(),
    hostname: 'h',
    database: { kind: 'sqlite', file: 'database/lectern.db', method: 'SQLite VACUUM INTO' },
    schema: { migrations: [] },
    secretKey: { source: 'configuration', fingerprint: 'x', file: null },
    directories,
    files: listed,
    excluded: [],
  });
  await w.addBuffer('manifest.json', Buffer.from(JSON.stringify(manifest)), 0o600);
  await w.finish();
  return manifest;
}

const FILES = {
  'database/lectern.db': 'SQLite format 3\0...',
  'data/bundles/g/1/index.html': '<p>static</p>',
  'data/bundles/g/empty.txt': '',
  [LONG]: 'a long name',
};

describe('the backup archive', () => {
  it('is a tar.gz others can read, 0600, that verifies and unpacks to the same bytes and modes', async () => {
    const file = path.join(dir, 'b.tar.gz');
    const manifest = await writeArchive(file, FILES);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Plain tar reads it (node-tar here; GNU tar likewise).
    const listed: string[] = [];
    await tar.t({ file, onReadEntry: (e) => void listed.push(e.path) });
    expect(listed).toEqual(['data/bundles/', ...Object.keys(FILES), 'manifest.json']);

    expect(await verifyArchive(file)).toEqual(manifest);
    const out = path.join(dir, 'out');
    mkdirSync(out);
    await extractArchive(file, manifest, out);
    for (const [p, content] of Object.entries(FILES)) expect(readFileSync(path.join(out, p), 'utf8')).toBe(content);
    expect(statSync(path.join(out, 'data/bundles/g/1/index.html')).mode & 0o777).toBe(0o644);
    expect(statSync(path.join(out, 'database/lectern.db')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(out, 'data/bundles')).mode & 0o777).toBe(0o700);
  });

  it('is refused when a file in it does not match its checksum', async () => {
    const file = path.join(dir, 'b.tar.gz');
    const manifest = await writeArchive(file, FILES);
    // The same files, one changed by a byte, under the original manifest.
    const unpacked = path.join(dir, 'unpacked');
    mkdirSync(unpacked);
    await tar.x({ file, cwd: unpacked });
    writeFileSync(path.join(unpacked, 'data/bundles/g/1/index.html'), '<p>statiC</p>');
    writeFileSync(path.join(unpacked, 'manifest.json'), JSON.stringify(manifest));
    const tampered = path.join(dir, 'tampered.tar.gz');
    await tar.c({ file: tampered, gzip: true, cwd: unpacked }, ['data', 'database', 'manifest.json']);
    await expect(verifyArchive(tampered)).rejects.toThrow(
      /does not match its manifest, so nothing was restored: data\/bundles\/g\/1\/index.html does not match its SHA-256 checksum/,
    );
  });

  it('is refused when cut short, or without a manifest', async () => {
    const file = path.join(dir, 'b.tar.gz');
    await writeArchive(file, FILES);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await expect(verifyArchive(file)).rejects.toThrow(/not a readable tar.gz archive|cut short/);

    const bare = path.join(dir, 'bare.tar.gz');
    mkdirSync(path.join(dir, 'x'));
    writeFileSync(path.join(dir, 'x', 'a.txt'), 'a');
    await tar.c({ file: bare, gzip: true, cwd: path.join(dir, 'x') }, ['a.txt']);
    await expect(verifyArchive(bare)).rejects.toThrow(/has no manifest.json: it is not a Lectern backup/);
  });

  it('never unpacks a path its manifest does not list', async () => {
    const file = path.join(dir, 'b.tar.gz');
    const manifest = await writeArchive(file, FILES);
    const fewer = { ...manifest, files: manifest.files.filter((f) => f.path !== 'data/bundles/g/empty.txt') };
    const out = path.join(dir, 'out');
    mkdirSync(out);
    await expect(extractArchive(file, fewer, out)).rejects.toThrow(/holds data\/bundles\/g\/empty.txt, which its manifest does not list as a file/);
  });
});
