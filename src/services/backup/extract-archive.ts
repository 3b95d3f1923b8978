import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ancestorsOf, archiveProblems, describeProblems, type SeenEntry } from './archive-check.ts';
import { BackupError } from './backup-error.ts';
import { MANIFEST_FILE, modeNumber, type BackupManifest } from './manifest.ts';
import { readArchive } from './tar-reader.ts';

/**
 * Unpacks a verified archive under `root` (a fresh staging directory), writing only the paths
 * its manifest lists (clean relative paths, checked when it was parsed), each file created
 * exclusively without following links, and hashing the bytes as they are written: the archive
 * could have changed since it was verified, and the files restored must be the ones checked.
 * Modes are the manifest's, less any write permission for others or the group.
 */
export async function extractArchive(file: string, manifest: BackupManifest, root: string): Promise<void> {
  const fileModes = new Map(manifest.files.map((f) => [f.path, modeNumber(f.mode) & 0o755]));
  const dirModes = new Map(manifest.directories.map((d) => [d.path, modeNumber(d.mode) & 0o755]));
  const ancestors = ancestorsOf([...fileModes.keys(), ...dirModes.keys()]);
  const seen = new Map<string, SeenEntry>();
  const duplicates: string[] = [];
  await readArchive(file, async (entry, p) => {
    if (p === MANIFEST_FILE) return entry.resume();
    if (seen.has(p)) duplicates.push(p);
    const abs = path.join(root, ...p.split('/'));
    // A directory the manifest does not list may only be above listed paths (tar adds them
    // when an archive is unpacked and packed again): private until something says otherwise.
    const dirMode = dirModes.get(p) ?? (ancestors.has(p) ? 0o700 : undefined);
    if (entry.type === 'Directory' && dirMode !== undefined) {
      await mkdir(abs, { recursive: true, mode: 0o700 });
      await chmod(abs, dirMode);
      seen.set(p, { type: 'directory' });
      return entry.resume();
    }
    const mode = fileModes.get(p);
    if (entry.type === 'Directory' || mode === undefined)
      throw new BackupError(`${file} holds ${p}, which its manifest does not list as a ${entry.type === 'Directory' ? 'directory' : 'file'}.`);
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o700 });
    const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    // As an async iterable: node-tar's entries are Minipass streams, not Node's.
    await pipeline(
      async function* () {
        yield* entry as AsyncIterable<Buffer>;
      },
      tap,
      fh.createWriteStream(),
    );
    await chmod(abs, mode);
    seen.set(p, { type: 'file', size, sha256: hash.digest('hex') });
  });
  const problems = archiveProblems(manifest, seen, duplicates);
  if (problems.length) throw new BackupError(`${file} changed while it was being restored, so nothing was restored: ${describeProblems(problems)}.`);
}
