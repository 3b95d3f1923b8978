import { readdirSync } from 'node:fs';
import path from 'node:path';
import { t as listTar } from 'tar';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import { parseManifest } from '../../src/domain/manifest.ts';

const FIXTURES = '/work/shared/fixtures/bundles';

/** The manifest.json text of a fixture, read with node-tar directly (not the extractor). */
async function manifestText(archive: string): Promise<string> {
  const chunks: Buffer[] = [];
  await listTar({
    file: archive,
    onReadEntry: (entry) => {
      if (entry.path.replace(/^\.\//, '') === 'manifest.json') entry.on('data', (c: Buffer) => chunks.push(c));
    },
  });
  return Buffer.concat(chunks).toString('utf8');
}

function rejection(text: string): AppError {
  try {
    parseManifest(text);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected parseManifest to throw');
}

const base = { version: 1, metadata: { appmode: 'static' }, files: {} };
const withField = (patch: Record<string, unknown>) => JSON.stringify({ ...base, ...patch });
const withMeta = (patch: Record<string, unknown>) => JSON.stringify({ ...base, metadata: { appmode: 'static', ...patch } });

describe('parseManifest', () => {
  const fixtures = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.tar.gz'))
    .sort();

  it.each(fixtures)('parses the manifest of %s', async (name) => {
    const m = parseManifest(await manifestText(path.join(FIXTURES, name)));
    expect(m.version).toBe(1);
    expect(typeof m.metadata.appmode).toBe('string');
    expect(Object.keys(m.files).length).toBeGreaterThan(0);
    for (const entry of Object.values(m.files)) expect(entry.checksum).toMatch(/^[0-9a-f]{32}$/);
    expect(m.packages).toBeTypeOf('object');
  });

  it('reads what the R client writes: nulls, platform, a 31-package list', async () => {
    const shiny = parseManifest(await manifestText(path.join(FIXTURES, 'r-shiny.tar.gz')));
    expect(shiny.platform).toBe('4.2.2');
    expect(shiny.metadata).toMatchObject({ appmode: 'shiny', primary_rmd: null, primary_html: null, has_parameters: false });
    expect(Object.keys(shiny.packages)).toHaveLength(31);
    expect(shiny.users).toBeNull();
    const html = parseManifest(await manifestText(path.join(FIXTURES, 'r-static-html.tar.gz')));
    expect(html.packages).toEqual({}); // null in the file
  });

  it('reads what rsconnect-python writes: python block, no locale on static', async () => {
    const flask = parseManifest(await manifestText(path.join(FIXTURES, 'py-flask-api.tar.gz')));
    expect(flask.metadata.entrypoint).toBe('app:app');
    expect(flask.python?.package_manager?.package_file).toBe('requirements.txt');
    const html = parseManifest(await manifestText(path.join(FIXTURES, 'py-static-html.tar.gz')));
    expect(html.locale).toBeUndefined();
    expect(html.platform).toBeUndefined();
  });

  it('tolerates nulls, missing optional fields and unknown fields', () => {
    const m = parseManifest(
      JSON.stringify({
        metadata: { appmode: 'rmd-static', primary_rmd: null, entrypoint: null, has_parameters: null, brand_new: { x: 1 } },
        packages: null,
        files: null,
        users: null,
        locale: null,
        platform: null,
        python: null,
        future_block: { anything: [1, 2] },
      }),
    );
    expect(m.version).toBe(1);
    expect(m.packages).toEqual({});
    expect(m.files).toEqual({});
    expect(m.locale).toBeUndefined();
    expect(m.platform).toBeNull();
    expect(m.metadata.has_parameters).toBeUndefined();
    expect((m.metadata as Record<string, unknown>).brand_new).toEqual({ x: 1 });
    expect((m as unknown as Record<string, unknown>).future_block).toEqual({ anything: [1, 2] });
  });

  it("tolerates jsonlite's [] for an empty map, a null checksum and a UTF-8 BOM", () => {
    const m = parseManifest('\uFEFF' + JSON.stringify({ metadata: { appmode: 'static' }, packages: [], files: { 'a.html': { checksum: null } } }));
    expect(m.packages).toEqual({});
    expect(m.files).toEqual({ 'a.html': {} });
  });

  it('does not judge the appmode (validateBundle does)', () => {
    expect(parseManifest(withMeta({ appmode: 'made-up' })).metadata.appmode).toBe('made-up');
  });

  it.each([
    ['not JSON', '{"metadata": ', /not valid JSON/],
    ['a JSON array', '[]', /must contain a JSON object/],
    ['JSON null', 'null', /must contain a JSON object/],
    ['a JSON string', '"manifest"', /must contain a JSON object/],
  ])('rejects %s', (_what, text, message) => {
    const err = rejection(text);
    expect(err.status).toBe(400);
    expect(err.code).toBe(25);
    expect(err.message).toMatch(message);
  });

  it.each([
    ['metadata missing', JSON.stringify({ version: 1, files: {} }), 'metadata'],
    ['metadata a string', withField({ metadata: 'static' }), 'metadata'],
    ['metadata null', withField({ metadata: null }), 'metadata'],
    ['appmode missing', withField({ metadata: { entrypoint: 'app' } }), 'metadata.appmode'],
    ['appmode a number', withField({ metadata: { appmode: 4 } }), 'metadata.appmode'],
    ['entrypoint a number', withMeta({ entrypoint: 1 }), 'metadata.entrypoint'],
    ['has_parameters a string', withMeta({ has_parameters: 'yes' }), 'metadata.has_parameters'],
    ['version a string', withField({ version: '1' }), 'version'],
    ['files a string', withField({ files: 'app.py' }), 'files'],
    ['files an array of names', withField({ files: ['app.py'] }), 'files'],
    ['a file entry a string', withField({ files: { 'app.py': 'abc' } }), 'files["app.py"]'],
    ['checksum a number', withField({ files: { 'app.py': { checksum: 5 } } }), 'files["app.py"].checksum'],
    ['packages a string', withField({ packages: 'shiny' }), 'packages'],
    ['python.version a number', withField({ python: { version: 3.11 } }), 'python.version'],
    ['package_file an object', withField({ python: { package_manager: { package_file: {} } } }), 'python.package_manager.package_file'],
    ['quarto.engines a string', withField({ quarto: { engines: 'knitr' } }), 'quarto.engines'],
    ['jupyter.hide_all_input a string', withField({ jupyter: { hide_all_input: 'true' } }), 'jupyter.hide_all_input'],
    [
      'environment_management.python a string',
      withField({ environment: { environment_management: { python: 'no' } } }),
      'environment.environment_management.python',
    ],
  ])('rejects %s with 400 naming the field', (_what, text, field) => {
    const err = rejection(text);
    expect(err.status).toBe(400);
    expect(err.code).toBe(25);
    expect(err.message).toContain(`field "${field}"`);
  });
});
