import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';
import { BackupError } from './backup-error.ts';

/** Handles one entry and consumes its data (reads it or calls `entry.resume()`). */
export type ArchiveEntryHandler = (entry: ReadEntry, path: string) => Promise<void>;

/**
 * Reads a backup archive (tar.gz) entry by entry, strictly in order, with node-tar's Parser in
 * strict mode: a damaged or truncated archive is an error, never a shorter list. Names are
 * given without a trailing slash; anything but files and directories (links, devices) is
 * refused, since a backup holds nothing else.
 */
export async function readArchive(file: string, onEntry: ArchiveEntryHandler): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    let chain: Promise<void> = Promise.resolve();
    let current: ReadEntry | null = null;
    const source = createReadStream(file);
    const parser = new Parser({ strict: true, brotli: false, zstd: false });
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      source.destroy();
      // A truncated archive never ends the entry being read: end it, so its handler returns
      // (what it read is thrown away with the rejection).
      current?.destroy();
      parser.abort(new Error('reading stopped'));
      void chain.then(() => reject(err));
    };
    const damaged = (err: Error) => fail(new BackupError(`${file} is not a readable tar.gz archive (${err.message}): it may be damaged or cut short.`));
    source.on('error', fail);
    parser.on('error', damaged);
    parser.on('ignoredEntry', (entry: ReadEntry) =>
      fail(new BackupError(`${file} holds ${entry.path}, an entry a Lectern backup never has (${entry.header.typeKey}).`)),
    );
    parser.on('entry', (entry: ReadEntry) => {
      chain = chain.then(async () => {
        if (failed) return entry.resume();
        try {
          if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory') {
            throw new BackupError(`${file} holds ${entry.path}, a ${entry.type} entry: a Lectern backup has only files and directories.`);
          }
          current = entry;
          await onEntry(entry, entry.path.replace(/\/+$/, ''));
          current = null;
        } catch (err) {
          current = null;
          entry.resume();
          fail(err);
        }
      });
    });
    parser.on('end', () => {
      void chain.then(() => {
        if (!failed) resolve();
      });
    });
    source.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

/** An entry's bytes in memory, refusing more than `max` (the manifest's cap). */
export async function entryBytes(entry: ReadEntry, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of entry as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new BackupError(`${entry.path} is larger than ${max} bytes: not a Lectern backup's manifest.`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
