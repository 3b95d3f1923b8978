import { LineSplitter } from '../../src/domain/line-splitter.ts';

/**
 * Splits a container's multiplexed output (8-byte frame headers: stream, 0, 0, 0, length, as
 * `logs` and `attach` give it without a TTY) into its streams, passing each frame's bytes on as
 * they arrive: a frame is never held whole, whatever length its header claims. Output that is
 * not framed (a TTY) goes to stdout as it is.
 */
export class FrameDemuxer {
  private readonly header = Buffer.alloc(8);
  private headerBytes = 0;
  private remaining = 0;
  private toErr = false;
  private raw = false;

  constructor(
    private readonly stdout: (chunk: Buffer) => void,
    private readonly stderr: (chunk: Buffer) => void,
  ) {}

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.raw) {
        this.stdout(chunk.subarray(pos));
        return;
      }
      if (this.remaining === 0) {
        const n = Math.min(8 - this.headerBytes, chunk.length - pos);
        chunk.copy(this.header, this.headerBytes, pos, pos + n);
        this.headerBytes += n;
        pos += n;
        if (this.headerBytes < 8) return;
        this.headerBytes = 0;
        const type = this.header[0]!;
        if (type > 2 || this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0) {
          this.raw = true;
          this.stdout(Buffer.from(this.header));
          continue;
        }
        this.toErr = type === 2;
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - pos);
      (this.toErr ? this.stderr : this.stdout)(chunk.subarray(pos, pos + n));
      this.remaining -= n;
      pos += n;
    }
  }
}

/**
 * Splits a container's multiplexed output into lines (each cut at MAX_LINE_BYTES), each with
 * the stream it came from. When `onLine` returns false and `drain` is given, reading pauses
 * until `drain()` resolves (the job log catching up). Resolves when the stream ends.
 */
export function eachLine(
  stream: NodeJS.ReadableStream,
  onLine: (source: 'stdout' | 'stderr', line: string) => boolean | void,
  drain?: () => Promise<void>,
): Promise<void> {
  let behind = false;
  const splitter = (source: 'stdout' | 'stderr') =>
    new LineSplitter((line) => {
      if (onLine(source, line) === false) behind = true;
    });
  const out = splitter('stdout');
  const err = splitter('stderr');
  const demux = new FrameDemuxer(
    (b) => out.write(b),
    (b) => err.write(b),
  );
  return new Promise((resolve) => {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      out.end();
      err.end();
      resolve();
    };
    stream.on('data', (chunk: Buffer) => {
      if (ended) return;
      demux.write(chunk);
      if (!behind || !drain) return;
      behind = false;
      stream.pause();
      void drain().then(() => stream.resume());
    });
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  });
}

/** Not found (404) from the engine: the container or image is already gone. */
export function isGone(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

/** Conflict (409): an image still in use, or a removal already under way. */
export function isConflict(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 409;
}
