import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import { extractBundle, type ExtractLimits } from '../../src/services/bundles/extract-bundle.ts';
import { dir, file, hardlink, manifestFor, md5, symlink, tar, writeBundle, writeRaw } from '../helpers/make-tar.ts';

const FIXTURES = '/work/shared/fixtures/bundles';
const LIMITS: ExtractLimits = { maxBytes: 50 * 1024 * 1024, maxFiles: 1000 };

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'lectern-extract-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Everything under `root`, directories with a trailing slash. */
function tree(root: string, rel = ''): string[] {
  return readdirSync(path.join(root, rel)).flatMap((name) => {
    const r = rel ? `${rel}/${name}` : name;
    return lstatSync(path.join(root, r)).isDirectory() ? [`${r}/`, ...tree(root, r)] : [r];
  });
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.tar.gz'))
  .sort();

describe('extractBundle on real client bundles', () => {
  it('has the nine fixtures', () => {
    expect(fixtures).toHaveLength(9);
  });

  it.each(fixtures)('%s extracts with every checksum verified', async (name) => {
    const dest = path.join(work, 'bundle');
    const result = await extractBundle(path.join(FIXTURES, name), dest, LIMITS);
    expect(result.checksumMismatches).toEqual([]);
    expect(result.missingFiles).toEqual([]);
    expect(result.files).toContain('manifest.json');
    expect(result.files).toEqual([...result.files].sort());
    for (const f of result.files) {
      expect(f.startsWith('./')).toBe(false);
      const st = lstatSync(path.join(dest, f));
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o777).toBe(0o644);
    }
    // Every manifest-listed file is there and nothing but the bundle's files is on disk.
    expect(result.files).toEqual(expect.arrayContaining(Object.keys(result.manifest.files)));
    expect(
      tree(dest)
        .filter((p) => !p.endsWith('/'))
        .sort(),
    ).toEqual(result.files);
    expect(result.totalBytes).toBe(result.files.reduce((n, f) => n + lstatSync(path.join(dest, f)).size, 0));
    expect(readdirSync(work)).toEqual(['bundle']);
  });

  it('strips ./, skips directory entries and keeps the unlisted index.htm of R bundles', async () => {
    const dest = path.join(work, 'r');
    const result = await extractBundle(path.join(FIXTURES, 'r-static-html.tar.gz'), dest, LIMITS);
    expect(result.files).toEqual(['index.htm', 'index.html', 'manifest.json']);
    expect(Object.keys(result.manifest.files)).toEqual(['index.html']);
    expect(result.manifest.metadata.appmode).toBe('static');

    const shiny = await extractBundle(path.join(FIXTURES, 'r-shiny.tar.gz'), path.join(work, 'shiny'), LIMITS);
    expect(shiny.files).toContain('app.R');
    expect(shiny.files).toContain('packrat/packrat.lock');
    expect(shiny.files.some((f) => f.endsWith('/'))).toBe(false);
    expect(lstatSync(path.join(work, 'shiny', 'packrat', 'desc')).mode & 0o777).toBe(0o755);
  });

  it('extracts the Python static bundle with its img/ subfolder', async () => {
    const dest = path.join(work, 'py');
    const result = await extractBundle(path.join(FIXTURES, 'py-static-html.tar.gz'), dest, LIMITS);
    expect(result.files).toEqual(['img/logo.png', 'index.html', 'manifest.json']);
    expect(md5(readFileSync(path.join(dest, 'img/logo.png')))).toBe(result.manifest.files['img/logo.png']?.checksum);
  });
});

describe('extractBundle checks and policies', () => {
  const html = '<p>hello</p>';

  it('reports a wrong checksum and a listed-but-missing file without throwing', async () => {
    const manifest = JSON.stringify({
      version: 1,
      metadata: { appmode: 'static' },
      files: { 'index.html': { checksum: '0'.repeat(32) }, 'gone.html': { checksum: md5('x') }, './a.txt': { checksum: md5('a') } },
    });
    const archive = writeBundle(work, [file('manifest.json', manifest), file('index.html', html), file('a.txt', 'a')]);
    const result = await extractBundle(archive, path.join(work, 'out'), LIMITS);
    expect(result.checksumMismatches).toEqual([{ path: 'index.html', expected: '0'.repeat(32), actual: md5(html) }]);
    expect(result.missingFiles).toEqual(['gone.html']);
  });

  it('gives 413 over the file limit and leaves nothing behind', async () => {
    const archive = writeBundle(work, [file('manifest.json', manifestFor('static')), file('a.html', 'a'), file('b.html', 'b')]);
    const err = await refusal(extractBundle(archive, path.join(work, 'out'), { maxBytes: 1 << 20, maxFiles: 2 }));
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/limit of 2 files/);
    expect(readdirSync(work)).toEqual(['bundle.tar.gz']);
  });

  it('gives 413 over the byte limit and leaves nothing behind', async () => {
    const archive = writeBundle(work, [file('manifest.json', manifestFor('static')), file('big.html', 'x'.repeat(5000))]);
    const err = await refusal(extractBundle(archive, path.join(work, 'out'), { maxBytes: 4096, maxFiles: 10 }));
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/limit of 4096 bytes/);
    expect(readdirSync(work)).toEqual(['bundle.tar.gz']);
  });

  it('counts link copies against the limits', async () => {
    const body = 'y'.repeat(3000);
    const archive = writeBundle(work, [file('manifest.json', manifestFor('static')), file('a.html', body), symlink('b.html', 'a.html')]);
    const err = await refusal(extractBundle(archive, path.join(work, 'out'), { maxBytes: 5000, maxFiles: 10 }));
    expect(err.status).toBe(413);
    expect(readdirSync(work)).toEqual(['bundle.tar.gz']);
  });

  it('creates destDir only on success, never half-written', async () => {
    const good = writeBundle(work, [file('manifest.json', manifestFor('static')), file('index.html', html)], 'good.tar.gz');
    const bad = writeBundle(work, [file('manifest.json', manifestFor('static')), file('index.html', html), file('../x', 'x')], 'bad.tar.gz');
    await refusal(extractBundle(bad, path.join(work, 'out'), LIMITS));
    expect(existsSync(path.join(work, 'out'))).toBe(false);
    expect(readdirSync(work).sort()).toEqual(['bad.tar.gz', 'good.tar.gz']);
    await extractBundle(good, path.join(work, 'out'), LIMITS);
    expect(tree(path.join(work, 'out')).sort()).toEqual(['index.html', 'manifest.json']);
    expect(lstatSync(path.join(work, 'out')).mode & 0o777).toBe(0o755);
  });

  it('refuses to extract over an existing destination', async () => {
    const archive = writeBundle(work, [file('manifest.json', manifestFor('static'))]);
    mkdirSync(path.join(work, 'out'));
    writeFileSync(path.join(work, 'out', 'keep'), 'k');
    await expect(extractBundle(archive, path.join(work, 'out'), LIMITS)).rejects.toThrow(/already exists/);
    expect(readdirSync(path.join(work, 'out'))).toEqual(['keep']);
  });

  it('sets 0644/0755 from the execute bit only', async () => {
    const archive = writeBundle(work, [
      file('manifest.json', manifestFor('static'), { mode: 0o600 }),
      file('run.sh', '#!/bin/sh\n', { mode: 0o4750 }),
      file('x.html', html, { mode: 0o666 }),
    ]);
    const dest = path.join(work, 'out');
    await extractBundle(archive, dest, LIMITS);
    expect(lstatSync(path.join(dest, 'manifest.json')).mode & 0o7777).toBe(0o644);
    expect(lstatSync(path.join(dest, 'run.sh')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(path.join(dest, 'x.html')).mode & 0o7777).toBe(0o644);
  });

  it('materialises in-bundle symbolic and hard links as copies', async () => {
    const archive = writeBundle(work, [
      file('manifest.json', manifestFor('static', { 'docs/alias.html': html })),
      symlink('docs/alias.html', '../data/page.html'), // names a file that comes later
      dir('data/'),
      file('data/page.html', html),
      hardlink('copy.html', 'data/page.html'),
      symlink('chain.html', 'docs/alias.html'),
    ]);
    const dest = path.join(work, 'out');
    const result = await extractBundle(archive, dest, LIMITS);
    expect(result.files).toEqual(['chain.html', 'copy.html', 'data/page.html', 'docs/alias.html', 'manifest.json']);
    expect(result.checksumMismatches).toEqual([]);
    for (const f of result.files.filter((f) => f !== 'manifest.json')) {
      expect(lstatSync(path.join(dest, f)).isFile()).toBe(true);
      expect(readFileSync(path.join(dest, f), 'utf8')).toBe(html);
    }
    expect(result.totalBytes).toBe(4 * html.length + lstatSync(path.join(dest, 'manifest.json')).size);
  });

  it('accepts repeated and implied directory entries, empty files and an uncompressed tar', async () => {
    const entries = [dir('./'), dir('./a/'), file('./a/b/empty.txt', ''), dir('./a/'), dir('./a/b/'), file('./manifest.json', manifestFor('static'))];
    const dest = path.join(work, 'out');
    const result = await extractBundle(writeRaw(work, tar(entries), 'plain.tar'), dest, LIMITS);
    expect(result.files).toEqual(['a/b/empty.txt', 'manifest.json']);
    expect(readFileSync(path.join(dest, 'a/b/empty.txt'), 'utf8')).toBe('');
  });
});
