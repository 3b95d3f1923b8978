import { describe, expect, it } from 'vitest';
import { LineSplitter, shorten, splitLines } from '../../src/domain/line-splitter.ts';

/** Feeds `chunks` to a splitter and returns the lines it gave, after end(). */
function split(chunks: Array<string | Buffer>, maxLineBytes = 16): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), { maxLineBytes });
  for (const c of chunks) s.write(c);
  s.end();
  return lines;
}

describe('LineSplitter', () => {
  it('splits on newlines, across chunk boundaries, and gives the last line without one at the end', () => {
    expect(split(['one\ntwo\nthr', 'ee\n', '\nfour'])).toEqual(['one', 'two', 'three', '', 'four']);
    expect(split(['a', 'b', 'c', '\n'])).toEqual(['abc']);
    expect(split(['\n\n'])).toEqual(['', '']);
    expect(split([])).toEqual([]);
    expect(split(['done\n'])).toEqual(['done']);
  });

  it('takes one CR before the newline off (CRLF), also when the CR ends a chunk, and keeps others', () => {
    expect(split(['dos\r\nline\r\n'])).toEqual(['dos', 'line']);
    expect(split(['dos\r', '\nnext'])).toEqual(['dos', 'next']);
    expect(split(['a\rb\r\r\n'])).toEqual(['a\rb\r']);
    expect(split(['last\r'])).toEqual(['last']);
  });

  it('cuts a line longer than the maximum, says how much was left out, and goes on at the next newline', () => {
    expect(split(['0123456789abcdefXYZ\nnext\n'])).toEqual(['0123456789abcdef … [line cut: 3 more bytes]', 'next']);
    // The same line in many chunks, the cut falling inside one of them.
    expect(split(['0123', '456789abc', 'defXY', 'Z', '\nnext'])).toEqual(['0123456789abcdef … [line cut: 3 more bytes]', 'next']);
    // The CR of a cut CRLF line is not counted as content.
    expect(split(['0123456789abcdefXYZ\r\n'])).toEqual(['0123456789abcdef … [line cut: 3 more bytes]']);
    // Exactly the maximum, then CRLF: nothing was cut.
    expect(split(['0123456789abcdef\r\n'])).toEqual(['0123456789abcdef']);
    // A cut line at the very end of the output.
    expect(split(['0123456789abcdef', 'tail'])).toEqual(['0123456789abcdef … [line cut: 4 more bytes]']);
  });

  it('never cuts a UTF-8 character in half: the partial character counts as cut', () => {
    // 'é' is two bytes: 15 ASCII bytes and the first byte of é would fill the 16.
    expect(split(['abcdefghijklmno', 'é', 'z\n'])).toEqual(['abcdefghijklmno … [line cut: 3 more bytes]']);
    // A character split across chunks, inside a line that fits, is joined again.
    const euro = Buffer.from('€');
    expect(split([Buffer.from('x'), euro.subarray(0, 1), euro.subarray(1), Buffer.from('\n')])).toEqual(['x€']);
  });

  it('holds at most the maximum of a line however much arrives without a newline', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), { maxLineBytes: 1024 });
    const chunk = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 64; i++) s.write(chunk);
    // (one byte more: a CR there would be half of a CRLF)
    expect(s.heldBytes).toBeLessThanOrEqual(1025);
    s.write('\nafter\n');
    expect(lines).toEqual(['a'.repeat(1024) + ` … [line cut: ${64 * (1 << 20) - 1024} more bytes]`, 'after']);
    expect(s.heldBytes).toBe(0);
  });
});

describe('splitLines and shorten', () => {
  it('split a text with the same rules', () => {
    expect(splitLines('a\r\nb\n', 100)).toEqual(['a', 'b']);
    expect(splitLines('', 100)).toEqual(['']);
    expect(splitLines('x'.repeat(10), 4)).toEqual(['xxxx … [line cut: 6 more bytes]']);
  });

  it('shorten keeps short text and cuts long text with a note', () => {
    expect(shorten('short', 10)).toBe('short');
    expect(shorten('0123456789abc', 10)).toBe('0123456789 … [line cut: 3 more characters]');
  });
});
