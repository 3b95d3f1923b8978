import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { AppError, ErrorCode } from '../../domain/errors.ts';

export interface ReceivedFile {
  path: string;
  size: number;
}

const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

function tooLarge(limit: number) {
  return new AppError(413, ErrorCode.invalidParameter, `The bundle is larger than this server's limit of ${limit} bytes.`);
}

/**
 * Streams a request body to a new file under `dir`, never holding it in memory, and stops as
 * soon as it passes `maxBytes` (a declared Content-Length over the limit is refused before a
 * byte is read). Accepts chunked bodies. On any failure the partial file is removed.
 */
export async function receiveToFile(body: Readable, dir: string, maxBytes: number, declaredLength?: number): Promise<ReceivedFile> {
  if (declaredLength !== undefined && declaredLength > maxBytes) {
    body.resume();
    throw tooLarge(maxBytes);
  }
  const file = path.join(dir, `upload-${randomBytes(8).toString('hex')}.tar.gz`);
  let size = 0;
  let exceeded = false;
  // Past the limit, chunks are read and dropped rather than the socket reset: a client still
  // sending would otherwise see ECONNRESET instead of the 413 that explains why. Draining is
  // bounded, so a huge upload is cut off all the same.
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size <= maxBytes) return cb(null, chunk);
      exceeded = true;
      cb(size > maxBytes + MAX_DRAIN_BYTES ? tooLarge(maxBytes) : null);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    await rm(file, { force: true });
    if (err instanceof AppError) throw err;
    throw AppError.badRequest('The bundle upload was interrupted before it was complete.');
  }
  if (exceeded) {
    await rm(file, { force: true });
    throw tooLarge(maxBytes);
  }
  if (size === 0) {
    await rm(file, { force: true });
    throw AppError.badRequest('The bundle upload was empty.');
  }
  return { path: file, size };
}
