import { createHash } from 'node:crypto';
import { archiveProblems, describeProblems, type SeenEntry } from './archive-check.ts';
import { BackupError } from './backup-error.ts';
import { MANIFEST_FILE, parseBackupManifest, type BackupManifest } from './manifest.ts';
import { entryBytes, readArchive } from './tar-reader.ts';

const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/**
 * Reads the whole archive once, writing nothing, and checks every file's size and SHA-256
 * against its manifest: a restore touches nothing until this has passed. Returns the manifest.
 */
export async function verifyArchive(file: string): Promise<BackupManifest> {
  const seen = new Map<string, SeenEntry>();
  const duplicates: string[] = [];
  let manifestText: string | null = null;
  await readArchive(file, async (entry, p) => {
    if (p === MANIFEST_FILE) {
      if (manifestText !== null) duplicates.push(p);
      manifestText = (await entryBytes(entry, MAX_MANIFEST_BYTES)).toString('utf8');
      return;
    }
    if (seen.has(p)) duplicates.push(p);
    if (entry.type === 'Directory') {
      seen.set(p, { type: 'directory' });
      return entry.resume();
    }
    const hash = createHash('sha256');
    let size = 0;
    for await (const c of entry as AsyncIterable<Buffer>) {
      size += c.length;
      hash.update(c);
    }
    seen.set(p, { type: 'file', size, sha256: hash.digest('hex') });
  });
  if (manifestText === null) throw new BackupError(`${file} has no ${MANIFEST_FILE}: it is not a Lectern backup, or it was cut short.`);
  const manifest = parseBackupManifest(manifestText);
  const problems = archiveProblems(manifest, seen, duplicates);
  if (problems.length) throw new BackupError(`${file} does not match its manifest, so nothing was restored: ${describeProblems(problems)}.`);
  return manifest;
}
