// Output of programs Lectern does not control (content, installers, image builds) cut into
// lines without ever holding more than one line's maximum: a process that writes a gigabyte
// without a newline costs the server `maxLineBytes`, not a gigabyte (node:readline holds the
// whole line, and its string overflowed V8's limit: `RangeError: Invalid string length`).

/**
 * The longest line kept of any output: long enough for a traceback or a JSON log record,
 * short enough that the lines a reader keeps (a tail, a deploy log) stay small.
 */
export const MAX_LINE_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

function cutNote(more: number, unit: 'bytes' | 'characters' = 'bytes'): string {
  return ` … [line cut: ${more} more ${unit}]`;
}

/**
 * Bytes at the end of `buf[0, end)` that begin a UTF-8 character they do not complete: 0 when
 * the text ends on a character boundary.
 */
function incompleteTail(buf: Buffer, end: number): number {
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const b = buf[i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    if (b < 0xc0) return 0; // ASCII
    const needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return end - i < needed ? end - i : 0;
  }
  return 0;
}

/**
 * Splits a byte stream into lines on LF (a CR before it is dropped: CRLF). A line longer than
 * `maxLineBytes` is cut there (on a character boundary) and the rest of it, up to the next
 * newline, is counted and discarded as it arrives; the line is given when its newline comes,
 * ending with `… [line cut: N more bytes]`. Lines are given synchronously from write().
 */
export class LineSplitter {
  private readonly max: number;
  private held: Buffer | undefined;
  private used = 0;
  /** Bytes of the current line discarded past the maximum. */
  private dropped = 0;
  private lastDropped = -1;

  constructor(
    private readonly onLine: (line: string) => void,
    opts: { maxLineBytes?: number } = {},
  ) {
    this.max = Math.max(4, opts.maxLineBytes ?? MAX_LINE_BYTES);
  }

  /** How much of an unfinished line is held (never more than the maximum). */
  get heldBytes(): number {
    return this.used;
  }

  write(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) {
        this.take(buf, start, buf.length);
        return;
      }
      if (this.used === 0 && this.dropped === 0 && nl - start <= this.max + 1) {
        // The common case: a whole line inside the chunk, decoded where it lies.
        const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
        if (end - start <= this.max) {
          this.onLine(buf.toString('utf8', start, end));
          start = nl + 1;
          continue;
        }
      }
      this.take(buf, start, nl);
      this.emit();
      start = nl + 1;
    }
  }

  /** The last line, if the output did not end with a newline. */
  end(): void {
    if (this.used > 0 || this.dropped > 0) this.emit();
  }

  private take(buf: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len === 0) return;
    if (this.dropped === 0) {
      this.held ??= Buffer.allocUnsafe(this.max + 1);
      // One byte past the maximum is kept: a CR there may be the first half of a CRLF.
      const n = Math.min(len, this.max + 1 - this.used);
      buf.copy(this.held, this.used, start, start + n);
      this.used += n;
      if (n === len) return;
      start += n;
    }
    this.dropped += end - start;
    this.lastDropped = buf[end - 1]!;
  }

  private emit(): void {
    const held = this.held ?? Buffer.alloc(0);
    let end = this.used;
    let more = this.dropped;
    if (more > 0 && this.lastDropped === CR) more--;
    else if (more === 0 && end > 0 && held[end - 1] === CR) end--;
    if (end > this.max) {
      more += end - this.max;
      end = this.max;
    }
    if (more > 0) {
      const partial = incompleteTail(held, end);
      end -= partial;
      more += partial;
    }
    this.used = 0;
    this.dropped = 0;
    this.lastDropped = -1;
    const text = held.toString('utf8', 0, end);
    this.onLine(more > 0 ? text + cutNote(more) : text);
  }
}

/** A text's lines, by the same rules (an empty text is one empty line). */
export function splitLines(text: string, maxLineBytes: number = MAX_LINE_BYTES): string[] {
  if (text === '') return [''];
  // The common case, a short line, without a splitter.
  if (!text.includes('\n') && !text.endsWith('\r') && (text.length * 3 <= maxLineBytes || Buffer.byteLength(text) <= maxLineBytes)) return [text];
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), { maxLineBytes });
  s.write(text);
  s.end();
  return lines;
}

/** At most `maxChars` of a line, with a note of what was left out. */
export function shorten(line: string, maxChars: number): string {
  return line.length <= maxChars ? line : line.slice(0, maxChars) + cutNote(line.length - maxChars, 'characters');
}
