import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { AppError, ErrorCode } from '../../domain/errors.ts';
import { refuse } from './entry-path.ts';

/** Handles one entry; must consume it (pipe or resume) or reject. Aborted with the whole read. */
export type EntryHandler = (entry: ReadEntry, signal: AbortSignal) => Promise<void>;

function invalidArchive(detail: string): AppError {
  return AppError.badRequest(`not a valid tar.gz bundle (${detail})`, ErrorCode.invalidParameter);
}

export function tooLarge(message: string): AppError {
  return new AppError(413, ErrorCode.invalidParameter, message);
}

async function startsWithGzipMagic(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** A NUL inside an extended header (pax record or GNU long name) other than its terminator. */
function nulInMeta(text: string): string | null {
  const body = text.replace(/\0+$/, '');
  if (!body.includes('\0')) return null;
  const pax = /(?:^|\n)\d+ (?:path|linkpath)=([^\n]*)/.exec(body);
  return pax?.[1] ?? body;
}

/**
 * Streams a tar (gzip-compressed or not) through node-tar's Parser in strict mode, calling
 * `onEntry` for each entry strictly in order. Decompression is done here rather than by the
 * Parser so that every decompressed byte is counted against `maxTarBytes`: the Parser buffers
 * whatever follows the end-of-archive marker, which would otherwise be an unbounded gzip bomb.
 * Rejects with AppError 400 for anything that is not a well-formed tar, and with whatever the
 * handler threw; on rejection all streams are destroyed and the handler's work has settled.
 */
export async function readTarEntries(archivePath: string, maxTarBytes: number, onEntry: EntryHandler): Promise<void> {
  const gzipped = await startsWithGzipMagic(archivePath);
  const controller = new AbortController();

  return new Promise<void>((resolve, reject) => {
    let failed = false;
    let chain: Promise<void> = Promise.resolve();
    let seen = 0;
    let sawEof = false;

    const source = createReadStream(archivePath);
    const inflate = gzipped ? createGunzip() : new PassThrough();
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        if (seen === 0 && chunk[0] === 0x1f && chunk[1] === 0x8b) {
          // The Parser would silently gunzip a second layer, outside this meter.
          return callback(invalidArchive('compressed more than once'));
        }
        seen += chunk.length;
        if (seen > maxTarBytes) {
          return callback(tooLarge(`bundle is larger than the limit of ${maxTarBytes} bytes once decompressed`));
        }
        // Past the end-of-archive marker only padding is legal; it is counted but not buffered.
        callback(null, sawEof ? undefined : chunk);
      },
    });
    const parser = new Parser({ strict: true, brotli: false, zstd: false });

    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      controller.abort(err);
      source.destroy();
      inflate.destroy();
      meter.destroy();
      // A fresh error: node-tar decorates the error it is given with its own fields.
      parser.abort(new Error('extraction stopped'));
      void chain.then(() => reject(err));
    };

    source.on('error', fail);
    inflate.on('error', (err: Error) => fail(invalidArchive(err.message)));
    meter.on('error', (err: Error) => fail(err instanceof AppError ? err : invalidArchive(err.message)));
    parser.on('error', (err: Error) => fail(invalidArchive(err.message)));
    parser.on('eof', () => {
      sawEof = true;
    });
    parser.on('meta', (text: string) => {
      const name = nulInMeta(text);
      if (name !== null) fail(refuse(name, 'has a NUL byte in its name'));
    });
    // Unknown type flags and oversized extended headers: node-tar would skip them quietly.
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      const why = entry.meta ? 'has an extended header larger than 1 MiB' : `has an unsupported entry type (${entry.header.typeKey})`;
      fail(refuse(entry.path, why));
    });
    parser.on('entry', (entry: ReadEntry) => {
      chain = chain.then(async () => {
        if (failed) return;
        try {
          await onEntry(entry, controller.signal);
        } catch (err) {
          fail(err);
        }
      });
    });
    parser.on('end', () => {
      void chain.then(() => {
        if (!failed) resolve();
      });
    });

    source
      .pipe(inflate)
      .pipe(meter)
      .pipe(parser as unknown as NodeJS.WritableStream);
  });
}
