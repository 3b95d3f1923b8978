import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import { extractBundle, type ExtractLimits } from '../../src/services/bundles/extract-bundle.ts';
import { dir, file, gnuLong, gzip, hardlink, manifestFor, pax, symlink, tar, type TarEntry } from '../helpers/make-tar.ts';

// Every case runs in its own "jail": a temp directory with sentinels around the work dir. After
// the attempt the jail must hold exactly what it held before, byte for byte.
const MARK = `pwned-${randomBytes(4).toString('hex')}`;
const HTML = '<h1>hi</h1>';
const M = file('manifest.json', manifestFor('static', { 'index.html': HTML }));
const H = file('index.html', HTML);
const LIMITS: ExtractLimits = { maxBytes: 10 * 1024 * 1024, maxFiles: 100 };

const gz = (entries: TarEntry[], end = true) => gzip(tar(entries, { end }));

interface Case {
  name: string;
  /** The archive's bytes; gets the jail's path for names that aim at it. */
  bytes: (jail: string) => Buffer;
  limits?: ExtractLimits;
  status?: number;
  message: RegExp;
}

const cases: Case[] = [
  // --- names
  { name: '../x', bytes: () => gz([M, H, file(`../${MARK}`, 'x')]), message: /"\.\.\/pwned-\w+" escapes the bundle directory/ },
  { name: 'a/../../x', bytes: () => gz([M, H, file(`a/../../${MARK}`, 'x')]), message: /escapes the bundle directory/ },
  { name: './../x', bytes: () => gz([M, H, file(`./../${MARK}`, 'x')]), message: /escapes the bundle directory/ },
  { name: '../../x (into the jail)', bytes: () => gz([M, H, file(`../../${MARK}`, 'x')]), message: /escapes/ },
  { name: 'absolute path', bytes: (j) => gz([M, H, file(`${j}/${MARK}`, 'x')]), message: /is an absolute path/ },
  { name: '//x', bytes: (j) => gz([M, H, file(`/${j}/${MARK}`, 'x')]), message: /is an absolute path/ },
  { name: 'C:\\x', bytes: () => gz([M, H, file(`C:\\${MARK}`, 'x')]), message: /backslash/ },
  { name: 'C:x (drive-relative)', bytes: () => gz([M, H, file(`C:${MARK}`, 'x')]), message: /Windows drive letter/ },
  { name: '..\\x', bytes: () => gz([M, H, file(`..\\${MARK}`, 'x')]), message: /backslash/ },
  { name: 'backslash traversal inside a name', bytes: () => gz([M, H, file(`a\\..\\..\\${MARK}`, 'x')]), message: /backslash/ },
  { name: 'NUL in a pax path', bytes: () => gz([M, H, pax({ path: `ok.txt\0../../${MARK}` }), file('placeholder', 'x')]), message: /NUL byte/ },
  { name: 'NUL in a GNU long name', bytes: () => gz([M, H, gnuLong(Buffer.from(`ok.txt\0../../${MARK}`)), file('placeholder', 'x')]), message: /NUL byte/ },
  { name: 'control character in a name', bytes: () => gz([M, H, file('a\nb.txt', 'x')]), message: /control character/ },
  { name: 'file named "."', bytes: () => gz([M, H, file('.', 'x')]), message: /empty name/ },
  { name: 'empty path segment', bytes: () => gz([M, H, file('a//b.txt', 'x')]), message: /not a normalised path/ },
  {
    name: 'path longer than 4096 bytes (pax)',
    bytes: () => gz([M, H, pax({ path: `${'d/'.repeat(2100)}f` }), file('placeholder', 'x')]),
    message: /longer than 4096 bytes/,
  },
  {
    name: 'segment longer than 255 bytes (GNU long name)',
    bytes: () => gz([M, H, gnuLong('s'.repeat(300)), file('placeholder', 'x')]),
    message: /segment longer than 255 bytes/,
  },
  // --- extended headers that rewrite names and types
  { name: 'GNU long name with traversal', bytes: () => gz([M, H, gnuLong(`../../${MARK}`), file('placeholder', 'x')]), message: /escapes/ },
  { name: 'pax path=../x', bytes: () => gz([M, H, pax({ path: `../${MARK}` }), file('placeholder', 'x')]), message: /escapes/ },
  {
    name: 'linkpath on a regular file',
    bytes: () => gz([M, H, file('a.txt', 'x', { linkname: '/etc/passwd' })]),
    message: /not a valid tar\.gz bundle.*linkpath/,
  },
  // --- links
  {
    name: 'symlink to /etc/passwd',
    bytes: () => gz([M, H, symlink('passwd', '/etc/passwd')]),
    message: /symbolic link to "\/etc\/passwd", outside the bundle/,
  },
  { name: 'symlink to ../outside', bytes: () => gz([M, H, symlink('out', '../../outside.txt')]), message: /escapes the bundle directory/ },
  {
    name: 'symlink in a subdir climbing out',
    bytes: () => gz([M, H, dir('sub/'), symlink('sub/l', '../../outside.txt')]),
    message: /"sub\/l" is a symbolic link to "\.\.\/\.\.\/outside\.txt", which escapes/,
  },
  { name: 'absolute symlink into the jail', bytes: (j) => gz([M, H, symlink('out', `${j}/outside.txt`)]), message: /outside the bundle/ },
  {
    name: 'symlink "link -> .." then link/pwned',
    bytes: () => gz([M, H, symlink('link', '..'), file(`link/${MARK}`, 'x')]),
    message: /"link" is a symbolic link to "\.\.", which escapes/,
  },
  {
    name: 'symlink to a dir, then a file through it',
    bytes: () => gz([M, H, dir('sub/'), symlink('link', 'sub'), file(`link/${MARK}`, 'x')]),
    message: /inside "link", which is a link/,
  },
  {
    name: 'symlink to a directory inside',
    bytes: () => gz([M, H, dir('sub/'), file('sub/a.txt', 'a'), symlink('link', 'sub')]),
    message: /link to the directory "sub"/,
  },
  { name: 'manifest.json as a symlink out', bytes: () => gz([symlink('manifest.json', '../../etc/passwd'), H]), message: /escapes/ },
  { name: 'symlink cycle', bytes: () => gz([M, H, symlink('a', 'b'), symlink('b', 'a')]), message: /link cycle/ },
  { name: 'dangling symlink', bytes: () => gz([M, H, symlink('a', 'nowhere.txt')]), message: /"nowhere\.txt", which is not in the bundle/ },
  { name: 'pax linkpath=/etc/passwd', bytes: () => gz([M, H, pax({ linkpath: '/etc/passwd' }), symlink('l', 'harmless')]), message: /outside the bundle/ },
  { name: 'GNU long link to /etc/passwd', bytes: () => gz([M, H, gnuLong('/etc/passwd', 'K'), symlink('l', 'harmless')]), message: /outside the bundle/ },
  { name: 'hardlink to /etc/passwd', bytes: () => gz([M, H, hardlink('passwd', '/etc/passwd')]), message: /hard link to "\/etc\/passwd", outside/ },
  { name: 'hardlink to ../x', bytes: () => gz([M, H, hardlink('h', '../outside.txt')]), message: /hard link to "\.\.\/outside\.txt", which escapes/ },
  { name: 'hardlink to a directory', bytes: () => gz([M, H, dir('sub/'), hardlink('h', 'sub')]), message: /link to the directory/ },
  // --- entry types
  { name: 'character device', bytes: () => gz([M, H, { name: 'null', type: '3' }]), message: /"null" is a device file/ },
  { name: 'block device', bytes: () => gz([M, H, { name: 'sda', type: '4' }]), message: /"sda" is a device file/ },
  { name: 'FIFO', bytes: () => gz([M, H, { name: 'pipe', type: '6' }]), message: /"pipe" is a FIFO/ },
  { name: 'unknown typeflag', bytes: () => gz([M, H, { name: 'odd', type: 'Z', body: 'x' }]), message: /"odd" has an unsupported entry type/ },
  { name: 'GNU dump dir', bytes: () => gz([M, H, { name: 'dump/', type: 'D' }]), message: /unsupported entry type/ },
  // --- namespace clashes
  {
    name: 'duplicate manifest.json',
    bytes: () => gz([M, H, file('manifest.json', '{"metadata":{"appmode":"shiny"}}')]),
    message: /"manifest\.json" appears more than once/,
  },
  { name: 'duplicate file entries', bytes: () => gz([M, H, file('./index.html', 'other')]), message: /appears more than once/ },
  { name: 'file then dir with the same name', bytes: () => gz([M, H, file('a', 'x'), dir('a/')]), message: /directory with the same name as an earlier file/ },
  { name: 'dir then file with the same name', bytes: () => gz([M, H, dir('a/'), file('a', 'x')]), message: /file with the same name as an earlier directory/ },
  { name: 'file then a file beneath it', bytes: () => gz([M, H, file('a', 'x'), file('a/b', 'y')]), message: /inside "a", which is a file/ },
  // --- limits
  {
    name: 'more than maxFiles files',
    limits: { maxBytes: LIMITS.maxBytes, maxFiles: 3 },
    bytes: () => gz([M, H, file('a', 'a'), file('b', 'b')]),
    status: 413,
    message: /limit of 3 files/,
  },
  {
    name: 'more than maxBytes (gzip bomb)',
    limits: { maxBytes: 1 << 20, maxFiles: 10 },
    bytes: () => gz([M, H, file('zeros.bin', Buffer.alloc(5 << 20))]),
    status: 413,
    message: /limit of 1048576 bytes/,
  },
  {
    name: 'pax size larger than the limit',
    limits: { maxBytes: 1 << 20, maxFiles: 10 },
    bytes: () => gz([M, H, pax({ size: String(1 << 30) }), file('a', 'x')], false),
    status: 413,
    message: /limit of 1048576 bytes/,
  },
  {
    name: 'zeros after the end of the archive (bomb)',
    limits: { maxBytes: 1 << 20, maxFiles: 10 },
    bytes: () => gzip(Buffer.concat([tar([M, H]), Buffer.alloc(40 << 20)])),
    status: 413,
    message: /once decompressed/,
  },
  {
    name: 'too many directories',
    limits: { maxBytes: 1 << 20, maxFiles: 10 },
    bytes: () => gz([M, H, ...Array.from({ length: 1100 }, (_, i) => dir(`d${i}/`))]),
    status: 413,
    message: /limit of 1000 directories/,
  },
  // --- broken archives
  { name: 'data longer than the header says', bytes: () => gz([M, H, file('a.txt', 'A'.repeat(3000), { size: 10 })]), message: /not a valid tar\.gz bundle/ },
  {
    name: 'data shorter than the header says (truncated)',
    bytes: () => gz([M, H, file('a.txt', 'short', { size: 100_000 })], false),
    message: /not a valid tar\.gz bundle.*Truncated/,
  },
  { name: 'truncated gzip stream', bytes: () => gz([M, H, file('r.bin', randomBytes(20_000))]).subarray(0, 8000), message: /not a valid tar\.gz bundle/ },
  {
    name: 'corrupted header checksum',
    bytes: () => {
      const t = tar([M, H]);
      t[10] = 0x41;
      return gzip(t);
    },
    message: /not a valid tar\.gz bundle.*checksum/,
  },
  { name: 'random bytes', bytes: () => randomBytes(4096), message: /not a valid tar\.gz bundle/ },
  { name: 'gzip of non-tar garbage', bytes: () => gzip(Buffer.from('this is not a tar archive at all\n'.repeat(100))), message: /not a valid tar\.gz bundle/ },
  { name: 'gzip inside gzip', bytes: () => gzip(gz([M, H])), message: /compressed more than once/ },
  { name: 'empty file', bytes: () => Buffer.alloc(0), message: /not a valid tar\.gz bundle/ },
  { name: 'gzip of nothing', bytes: () => gzip(Buffer.alloc(0)), message: /not a valid tar\.gz bundle/ },
  // --- manifest
  { name: 'no manifest.json', bytes: () => gz([H]), message: /bundle has no manifest\.json at its root/ },
  {
    name: 'manifest.json in a subdirectory only',
    bytes: () => gz([H, file('sub/manifest.json', manifestFor('static'))]),
    message: /no manifest\.json at its root/,
  },
  { name: 'manifest.json is a directory', bytes: () => gz([H, dir('manifest.json/'), file('manifest.json/x', 'x')]), message: /no manifest\.json at its root/ },
  { name: 'manifest not JSON', bytes: () => gz([file('manifest.json', '{nope'), H]), message: /manifest\.json is not valid JSON/ },
  { name: 'manifest is a JSON array', bytes: () => gz([file('manifest.json', '[1,2]'), H]), message: /must contain a JSON object/ },
  {
    name: 'manifest files is a string',
    bytes: () => gz([file('manifest.json', '{"metadata":{"appmode":"static"},"files":"index.html"}'), H]),
    message: /field "files"/,
  },
  { name: 'manifest without metadata', bytes: () => gz([file('manifest.json', '{"version":1,"files":{}}'), H]), message: /field "metadata"/ },
];

type Snapshot = Record<string, string>;

function snapshot(root: string): Snapshot {
  const out: Snapshot = {};
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) out[rel] = `link:${readlinkSync(abs)}`;
    else if (st.isDirectory()) {
      out[rel || '.'] = `dir:${(st.mode & 0o7777).toString(8)}`;
      for (const name of readdirSync(abs)) walk(path.join(rel, name));
    } else out[rel] = `file:${(st.mode & 0o7777).toString(8)}:${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
  };
  walk('');
  return out;
}

function makeJail(): { jail: string; input: string; dest: string } {
  const jail = mkdtempSync(path.join(os.tmpdir(), 'lectern-jail-'));
  writeFileSync(path.join(jail, 'outside.txt'), 'sentinel outside');
  mkdirSync(path.join(jail, 'sibling'));
  writeFileSync(path.join(jail, 'sibling', 'keep.txt'), 'sentinel in a sibling');
  mkdirSync(path.join(jail, 'work'));
  writeFileSync(path.join(jail, 'work', 'neighbour.txt'), 'sentinel next to the bundle');
  mkdirSync(path.join(jail, 'input'));
  return { jail, input: path.join(jail, 'input', 'bundle.tar.gz'), dest: path.join(jail, 'work', 'bundle') };
}

const passwdBefore = readFileSync('/etc/passwd');
afterAll(() => {
  expect(readFileSync('/etc/passwd').equals(passwdBefore)).toBe(true);
  expect(existsSync(path.join(os.tmpdir(), MARK))).toBe(false);
  expect(existsSync(path.join('/', MARK))).toBe(false);
});

describe('hostile bundles', () => {
  it('has at least 30 distinct cases', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('refuses: $name', async (c) => {
    const { jail, input, dest } = makeJail();
    try {
      writeFileSync(input, c.bytes(jail));
      const before = snapshot(jail);
      const err = await extractBundle(input, dest, c.limits ?? LIMITS).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      const appErr = err as AppError;
      expect(appErr.status).toBe(c.status ?? 400);
      expect(appErr.message).toMatch(c.message);
      expect(existsSync(dest)).toBe(false);
      // Same set of files with the same contents and modes: no partial dir, nothing escaped.
      expect(snapshot(jail)).toEqual(before);
    } finally {
      rmSync(jail, { recursive: true, force: true });
    }
  });

  it('reads a ustar name up to its NUL terminator, as tar defines it, and writes nothing outside', async () => {
    const { jail, input, dest } = makeJail();
    try {
      const name = Buffer.concat([Buffer.from('ok.txt\0'), Buffer.from(`../../${MARK}`)]);
      writeFileSync(input, gz([M, H, { name, type: '0', body: 'x' }]));
      const before = snapshot(jail);
      const result = await extractBundle(input, dest, LIMITS);
      expect(result.files).toEqual(['index.html', 'manifest.json', 'ok.txt']);
      const after = snapshot(jail);
      for (const key of Object.keys(after)) if (key.startsWith('work/bundle')) delete after[key];
      expect(after).toEqual(before);
    } finally {
      rmSync(jail, { recursive: true, force: true });
    }
  });
});
