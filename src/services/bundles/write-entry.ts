import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { ReadEntry } from 'tar';

/**
 * Streams one regular-file entry into a new file at `abs`, hashing as it goes. The file is
 * created exclusively and without following links, so an unexpected existing file or link at
 * that path fails instead of being written through. `onBytes` sees every chunk's size before it
 * is written and may veto it with an error (the byte limit). Settles when the file is closed,
 * also when `signal` aborts the extraction.
 */
export async function writeEntryFile(
  entry: ReadEntry,
  abs: string,
  mode: number,
  signal: AbortSignal,
  onBytes: (n: number) => Error | null,
): Promise<{ md5: string; size: number }> {
  const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.chmod(mode); // explicit: the open mode is filtered by the umask
  } catch (err) {
    await fh.close();
    throw err;
  }
  const hash = createHash('md5');
  let size = 0;
  let failure: Error | null = null;
  // Counting and hashing sit in the pipe itself, so they see exactly the bytes written.
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      const veto = onBytes(chunk.length);
      if (veto) return callback(veto);
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const out = fh.createWriteStream(); // closes fh when finished or destroyed

  return new Promise((resolve, reject) => {
    let finished = false;
    const stop = (err: Error) => {
      failure ??= err;
      tap.destroy();
      out.destroy();
    };
    const onAbort = () => stop(new Error('extraction aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    // Aborted while the file was being opened: the entry will never end, so do not wait for it.
    if (signal.aborted) onAbort();

    tap.on('error', stop);
    out.on('error', stop);
    out.on('finish', () => {
      finished = true;
    });
    out.on('close', () => {
      signal.removeEventListener('abort', onAbort);
      if (finished && !failure) resolve({ md5: hash.digest('hex'), size });
      else reject(failure ?? new Error('file was not completely written'));
    });
    entry.pipe(tap).pipe(out);
  });
}
