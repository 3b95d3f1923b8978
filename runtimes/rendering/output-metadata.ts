import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Where R Markdown's wrapper and Quarto's `format: email` leave the document's output metadata. */
const OUTPUT_METADATA = '.output_metadata.json';

/** Far above a real email (blastula's base64 images included), small enough to parse without worry. */
export const MAX_OUTPUT_METADATA_BYTES = 8 * 1024 * 1024;

/**
 * Takes the document's output metadata out of a render's output: parsed when `read` (the modes
 * whose renders write it), and removed in any case, as it is for the server (email subject,
 * body, base64 images) and not for viewers. The file was written by content: it is read only
 * if it is a regular file (never through a link) of at most 8 MiB of JSON; anything else is
 * told to `log` and gives null. Call on sealed output, once the render's processes are gone.
 */
export async function takeOutputMetadata(dir: string, read: boolean, log: (line: string) => void): Promise<unknown> {
  const file = path.join(dir, OUTPUT_METADATA);
  try {
    return read ? await readMetadata(file, log) : null;
  } finally {
    await rm(file, { recursive: true, force: true });
  }
}

async function readMetadata(file: string, log: (line: string) => void): Promise<unknown> {
  let fh: FileHandle;
  try {
    // No link followed, and no wait on a FIFO (keepRegularFiles removed both already; this holds anyway).
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    log(`Ignored ${OUTPUT_METADATA}: it could not be opened as a file (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
    return null;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      log(`Ignored ${OUTPUT_METADATA}: it is not a regular file.`);
      return null;
    }
    if (st.size > MAX_OUTPUT_METADATA_BYTES) {
      log(`Ignored ${OUTPUT_METADATA}: it is larger than ${MAX_OUTPUT_METADATA_BYTES / 1024 / 1024} MiB.`);
      return null;
    }
    const text = await readExactly(fh, st.size);
    if (text === null) {
      log(`Ignored ${OUTPUT_METADATA}: it changed while it was read.`);
      return null;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      log(`Ignored ${OUTPUT_METADATA}: it is not valid JSON (${(err as Error).message}).`);
      return null;
    }
  } finally {
    await fh.close();
  }
}

/** The file's `size` bytes as text, or null if it holds more or fewer (read no further than one more byte). */
async function readExactly(fh: FileHandle, size: number): Promise<string | null> {
  const buf = Buffer.alloc(size + 1);
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await fh.read(buf, filled, buf.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === size ? buf.subarray(0, size).toString('utf8') : null;
}
