import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { eachLine, FrameDemuxer } from '../../runtimes/docker/docker-streams.ts';
import { follow } from '../../runtimes/docker/runtime-images.ts';

/** A frame of the engine's multiplexed output: stream type, three zero bytes, length, payload. */
function frameHeader(type: 1 | 2, length: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(length, 4);
  return h;
}
const frame = (type: 1 | 2, text: string) => Buffer.concat([frameHeader(type, Buffer.byteLength(text)), Buffer.from(text)]);

describe('container output', () => {
  it('demultiplexes frames split anywhere, headers included, and passes unframed (TTY) output on', () => {
    const out: string[] = [];
    const err: string[] = [];
    const d = new FrameDemuxer(
      (b) => out.push(b.toString()),
      (b) => err.push(b.toString()),
    );
    const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, 'world\n')]);
    for (let i = 0; i < bytes.length; i += 3) d.write(bytes.subarray(i, i + 3));
    expect(out.join('')).toBe('hello world\n');
    expect(err.join('')).toBe('oops\n');

    const raw: string[] = [];
    const tty = new FrameDemuxer(
      (b) => raw.push(b.toString()),
      () => undefined,
    );
    tty.write(Buffer.from('plain terminal output\n'));
    expect(raw.join('')).toBe('plain terminal output\n');
  });

  it('gives lines per stream, a frame claiming gigabytes and a line without end costing one cut line', async () => {
    const stream = new PassThrough();
    const lines: Array<[string, string]> = [];
    const done = eachLine(stream, (s, l) => void lines.push([s, l.length > 100 ? `${l.slice(0, 3)}…${l.slice(l.indexOf(' … '))}` : l]));
    stream.write(frame(2, 'err one\r\nerr '));
    // One frame header announcing 2^32-1 bytes, then 256 MiB of it without a newline.
    stream.write(frameHeader(1, 0xffffffff));
    const chunk = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 256; i++) stream.write(chunk);
    stream.end();
    await done;
    expect(lines).toEqual([
      ['stderr', 'err one'],
      ['stdout', `aaa… … [line cut: ${256 * (1 << 20) - 64 * 1024} more bytes]`],
      ['stderr', 'err '],
    ]);
  });

  it('pauses the stream while the consumer asks it to, and goes on after drain', async () => {
    const stream = new PassThrough();
    let release!: () => void;
    const drained = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const done = eachLine(
      stream,
      (_s, l) => {
        seen.push(l);
        return false;
      },
      () => drained,
    );
    stream.write(frame(1, 'one\n'));
    await new Promise((r) => setImmediate(r));
    expect(stream.isPaused()).toBe(true);
    stream.end(frame(1, 'two\n'));
    release();
    await done;
    expect(seen).toEqual(['one', 'two']);
  });
});

describe('image build progress', () => {
  it("joins a step's output into lines across messages, without keeping the messages, and fails on the engine's error", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = follow(stream, (l) => lines.push(l));
    const msg = (o: object) => stream.write(JSON.stringify(o) + '\r\n');
    msg({ stream: 'Step 1/2 : FROM x\n' });
    msg({ stream: 'partial ' });
    msg({ stream: 'line\nnext\n' });
    msg({ status: 'Pushing' });
    stream.write('{"stream": "' + 'y'.repeat(5 * 1024 * 1024) + '"}\n');
    msg({ stream: '\n' });
    msg({ errorDetail: { message: 'the RUN step failed' }, error: 'the RUN step failed' });
    stream.end();
    await expect(done).rejects.toThrow('the RUN step failed');
    expect(lines).toEqual([
      'Step 1/2 : FROM x',
      'partial line',
      'next',
      'Pushing',
      '[lectern] A progress message from the engine was too long or malformed, and was skipped.',
    ]);
  });

  it('resolves when the stream ends without an error', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = follow(stream, (l) => lines.push(l));
    stream.end(JSON.stringify({ stream: 'Successfully built abc\n' }) + '\n');
    await done;
    expect(lines).toEqual(['Successfully built abc']);
  });
});
