// Crafts tar archives byte by byte, including ones no honest tar tool would write, so tests can
// feed the bundle extractor exactly the hostile input they describe.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  /** Raw name field (≤ 100 bytes); a Buffer may smuggle NULs and other bytes in. */
  name: string | Buffer;
  /** The typeflag character: '0' file, '5' dir, '1' hard link, '2' symlink, 'x' pax, 'L' GNU long name, … */
  type?: string;
  body?: Buffer | string;
  /** The header's size field when it should lie about the body. */
  size?: number;
  linkname?: string | Buffer;
  mode?: number;
  /** ustar prefix field (≤ 155 bytes). */
  prefix?: string;
}

const BLOCK = 512;

function put(block: Buffer, offset: number, length: number, value: string | Buffer): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length > length) throw new Error(`tar field at ${offset} is ${bytes.length} bytes, max ${length}`);
  bytes.copy(block, offset);
}

const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';

function header(e: TarEntry, bodyLength: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  put(b, 0, 100, e.name);
  put(b, 100, 8, octal(e.mode ?? (e.type === '5' ? 0o755 : 0o644), 8));
  put(b, 108, 8, octal(0, 8));
  put(b, 116, 8, octal(0, 8));
  put(b, 124, 12, octal(e.size ?? bodyLength, 12));
  put(b, 136, 12, octal(1_700_000_000, 12));
  put(b, 156, 1, e.type ?? '0');
  if (e.linkname !== undefined) put(b, 157, 100, e.linkname);
  put(b, 257, 8, Buffer.from('ustar\u000000', 'binary'));
  put(b, 265, 32, 'root');
  put(b, 297, 32, 'root');
  if (e.prefix !== undefined) put(b, 345, 155, e.prefix);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  put(b, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return b;
}

function padded(body: Buffer): Buffer {
  const rest = body.length % BLOCK;
  return rest === 0 ? body : Buffer.concat([body, Buffer.alloc(BLOCK - rest)]);
}

/** A tar stream: each header and its padded body, then (unless `end: false`) two zero blocks. */
export function tar(entries: TarEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    parts.push(header(e, body.length), padded(body));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export const gzip = (data: Buffer): Buffer => gzipSync(data);

/** tar + gzip, written to `dir/name`; returns the path. */
export function writeBundle(dir: string, entries: TarEntry[], name = 'bundle.tar.gz'): string {
  const file = path.join(dir, name);
  writeFileSync(file, gzip(tar(entries)));
  return file;
}

export function writeRaw(dir: string, bytes: Buffer, name = 'bundle.tar.gz'): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

export const file = (name: string, body: Buffer | string = '', extra: Partial<TarEntry> = {}): TarEntry => ({ name, body, type: '0', ...extra });
export const dir = (name: string): TarEntry => ({ name, type: '5' });
export const symlink = (name: string, target: string): TarEntry => ({ name, type: '2', linkname: target });
export const hardlink = (name: string, target: string): TarEntry => ({ name, type: '1', linkname: target });

/** A pax extended header ('x', or 'g' for global) carrying `records` for the next entry. */
export function pax(records: Record<string, string>, type: 'x' | 'g' = 'x'): TarEntry {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const rest = ` ${key}=${value}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len += 1;
    body += `${len}${rest}`;
  }
  return { name: 'PaxHeader', type, body };
}

/** A GNU long name ('L') or long link name ('K') record for the next entry. */
export function gnuLong(value: string | Buffer, type: 'L' | 'K' = 'L'): TarEntry {
  const bytes = Buffer.concat([Buffer.from(value), Buffer.alloc(1)]);
  return { name: '././@LongLink', type, body: bytes };
}

/** A manifest.json body whose `files` lists `files` with their real MD5s. */
export function manifestFor(appmode: string, files: Record<string, string | Buffer> = {}, metadata: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 1,
    metadata: { appmode, ...metadata },
    files: Object.fromEntries(Object.entries(files).map(([name, body]) => [name, { checksum: md5(body) }])),
  });
}

export const md5 = (body: string | Buffer) => createHash('md5').update(body).digest('hex');
