import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { REPO } from './process.ts';

export const FIXTURES = path.resolve(REPO, '../shared/fixtures/bundles');

/** A bundle exactly as a real client uploaded it. Missing fixtures fail the test, never skip it. */
export function fixture(name: string): Buffer {
  const file = path.join(FIXTURES, name);
  if (!existsSync(file)) throw new Error(`fixture ${file} is missing: the tests need ../shared beside the repo`);
  return readFileSync(file);
}

/** A bundle in rsconnect-python's shape: plain names, manifest first, MD5 checksums. */
export async function makeBundle(
  files: Record<string, string | Buffer>,
  metadata: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-bundle-'));
  const listed: Record<string, { checksum: string }> = {};
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
    listed[name] = { checksum: createHash('md5').update(content).digest('hex') };
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, locale: 'en_US.UTF-8', metadata, ...extra, files: listed }));
  const out = path.join(dir, '..', `${path.basename(dir)}.tar.gz`);
  await tar.create({ gzip: true, file: out, cwd: dir, portable: true }, ['manifest.json', ...Object.keys(files)]);
  return readFileSync(out);
}

/** The `ws` package's files, to ship inside a Node.js bundle as node_modules/ws. */
export function wsModule(): Record<string, Buffer> {
  const root = path.dirname(createRequire(import.meta.url).resolve('ws/package.json'));
  const out: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.join('node_modules/ws', path.relative(root, p))] = readFileSync(p);
    }
  };
  walk(root);
  return out;
}

export function staticBundle(html: string, extra: Record<string, string> = {}): Promise<Buffer> {
  return makeBundle({ 'index.html': html, ...extra }, { appmode: 'static', primary_html: 'index.html', entrypoint: 'index.html' });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/**
 * Sends a body the way Python's http.client sends a file object: chunked, with no
 * Content-Type and no Content-Length (connect-api.md §5.3).
 */
export function uploadChunked(base: string, urlPath: string, key: string, body: Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${urlPath}`,
      { method: 'POST', headers: { authorization: `Key ${key}`, 'transfer-encoding': 'chunked', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text });
        });
      },
    );
    req.on('error', reject);
    // Several chunks, as a streamed file would arrive.
    for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
    req.end();
  });
}

/** rsconnect-python's multipart upload (server version > 2025.11.0 with git metadata). */
export async function uploadMultipart(base: string, urlPath: string, key: string, body: Buffer, metadata: Record<string, unknown>): Promise<RawResponse> {
  const form = new FormData();
  form.append('archive', new Blob([new Uint8Array(body)], { type: 'application/x-tar' }), 'bundle.tar.gz');
  form.append('metadata', JSON.stringify(metadata));
  const res = await fetch(`${base}${urlPath}`, { method: 'POST', headers: { authorization: `Key ${key}` }, body: form });
  const text = await res.text();
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text,
  };
}
