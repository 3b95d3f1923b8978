import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import type Docker from 'dockerode';

/**
 * Splits a container's multiplexed output (8-byte frame headers, as `logs` and `attach` give it
 * without a TTY) into lines, each with the stream it came from. Resolves when the stream ends.
 */
export function eachLine(docker: Docker, stream: NodeJS.ReadableStream, onLine: (source: 'stdout' | 'stderr', line: string) => void): Promise<void> {
  const out = new PassThrough();
  const err = new PassThrough();
  docker.modem.demuxStream(stream, out, err);
  const closed = (s: PassThrough, source: 'stdout' | 'stderr') =>
    new Promise<void>((resolve) => {
      createInterface({ input: s, crlfDelay: Infinity }).on('line', (l) => onLine(source, l)).on('close', resolve);
    });
  const done = Promise.all([closed(out, 'stdout'), closed(err, 'stderr')]);
  const end = () => {
    out.end();
    err.end();
  };
  stream.on('end', end);
  stream.on('close', end);
  stream.on('error', end);
  return done.then(() => undefined);
}

/** Not found (404) from the engine: the container or image is already gone. */
export function isGone(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

/** Conflict (409): an image still in use, or a removal already under way. */
export function isConflict(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 409;
}
