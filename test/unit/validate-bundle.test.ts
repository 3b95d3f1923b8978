import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFor, kindOf, recipeFor } from '../../runtimes/app-modes/index.ts';
import { validateBundle } from '../../runtimes/app-modes/validate-bundle.ts';
import { APP_MODES, appModeOrdinal, canonicalAppMode, deployableAppModes, isKnownAppMode } from '../../src/domain/app-modes.ts';
import { AppError } from '../../src/domain/errors.ts';
import { parseManifest, type Manifest } from '../../src/domain/manifest.ts';
import { extractBundle } from '../../src/services/bundles/extract-bundle.ts';

const FIXTURES = '/work/shared/fixtures/bundles';
const work = mkdtempSync(path.join(os.tmpdir(), 'lectern-validate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const manifest = (appmode: string, metadata: Record<string, unknown> = {}): Manifest => parseManifest(JSON.stringify({ metadata: { appmode, ...metadata } }));

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    return err as AppError;
  }
  throw new Error('expected a refusal');
}

describe('app modes', () => {
  it('has the ordinals of connect-api.md §7.3', () => {
    expect(APP_MODES).toMatchObject({ unknown: 0, shiny: 1, static: 4, api: 5, 'python-fastapi': 12, 'python-panel': 18, nodejs: 20 });
    expect(appModeOrdinal('jupyter-voila')).toBe(16);
    expect(appModeOrdinal('no-such-mode')).toBe(0);
    expect(appModeOrdinal('toString')).toBe(0);
  });

  it('knows every deployable mode, not unknown, and resolves the aliases', () => {
    expect(isKnownAppMode('unknown')).toBe(false);
    expect(isKnownAppMode('constructor')).toBe(false);
    expect(isKnownAppMode('python-gradio')).toBe(true);
    expect(canonicalAppMode('quarto')).toBe('quarto-static');
    expect(appModeOrdinal('jupyter')).toBe(7);
  });
});

describe('the app-mode registry', () => {
  it('has a check, in its own file, for every deployable mode', () => {
    for (const mode of deployableAppModes()) expect(checkFor(mode)?.mode, mode).toBe(mode);
  });

  it("takes each runnable mode's kind from its recipe", () => {
    const rendered = deployableAppModes().filter((m) => kindOf(m) === 'rendered');
    expect(rendered.sort()).toEqual(['jupyter-static', 'quarto-static', 'rmd-static']);
    expect(kindOf('static')).toBe('static');
    expect(kindOf('python-fastapi')).toBe('served');
    expect(kindOf('jupyter-voila')).toBeNull();
    expect(recipeFor('python-gradio')).toBeUndefined();
  });
});

describe('validateBundle', () => {
  const expected: Record<string, [string, string]> = {
    'py-dash.tar.gz': ['python-dash', 'app.py'],
    'py-fastapi.tar.gz': ['python-fastapi', 'main.py'],
    'py-flask-api.tar.gz': ['python-api', 'app.py'],
    'py-jupyter-static.tar.gz': ['jupyter-static', 'analysis.ipynb'],
    'py-static-html.tar.gz': ['static', 'index.html'],
    'r-plumber.tar.gz': ['api', 'plumber.R'],
    'r-rmd-static.tar.gz': ['rmd-static', 'report.Rmd'],
    'r-shiny.tar.gz': ['shiny', 'app.R'],
    'r-static-html.tar.gz': ['static', 'index.html'],
  };

  it.each(readdirSync(FIXTURES).filter((f) => f.endsWith('.tar.gz')))('accepts %s', async (name) => {
    const out = await extractBundle(path.join(FIXTURES, name), path.join(work, name), { maxBytes: 1 << 26, maxFiles: 1000 });
    const [appMode, primaryFile] = expected[name] ?? [];
    expect(validateBundle(out.manifest, out.files)).toEqual({ appMode, primaryFile });
  });

  it('refuses an unknown appmode, listing the supported ones', () => {
    const err = refusal(() => validateBundle(manifest('cobol-app'), ['manifest.json']));
    expect(err.message).toMatch(/appmode "cobol-app" is not supported; supported modes: .*shiny.*python-fastapi.*nodejs/);
    refusal(() => validateBundle(manifest('unknown'), ['manifest.json']));
  });

  it.each([
    ['static', {}, ['index.htm'], 'index.htm'],
    ['static', {}, ['report.html', 'sub/index.html'], 'report.html'],
    ['static', { primary_html: 'b.html', entrypoint: 'b.html' }, ['a.html', 'b.html'], 'b.html'],
    ['shiny', {}, ['server.R', 'ui.R'], 'server.R'],
    ['rmd-shiny', { primary_rmd: null }, ['doc.Rmd'], 'doc.Rmd'],
    ['quarto-static', {}, ['_quarto.yml', 'about.qmd'], '_quarto.yml'],
    ['quarto-shiny', { primary_rmd: 'app.qmd' }, ['app.qmd'], 'app.qmd'],
    ['quarto', {}, ['notes.ipynb'], 'notes.ipynb'],
    ['api', {}, ['entrypoint.R'], 'entrypoint.R'],
    ['tensorflow-saved-model', {}, ['model/1/saved_model.pb'], 'model/1/saved_model.pb'],
    ['jupyter-voila', { entrypoint: 'dash.ipynb' }, ['dash.ipynb'], 'dash.ipynb'],
    ['jupyter-voila', { entrypoint: '' }, ['a/one.ipynb'], null],
    ['python-fastapi', { entrypoint: 'pkg.api:app' }, ['pkg/api.py'], 'pkg/api.py'],
    ['python-shiny', { entrypoint: 'pkg' }, ['pkg/__init__.py'], 'pkg/__init__.py'],
    ['python-bokeh', {}, ['app.py'], 'app.py'],
    ['python-streamlit', { entrypoint: 'streamlit_app.py' }, ['streamlit_app.py'], 'streamlit_app.py'],
    ['python-streamlit', { entrypoint: 'dash.main' }, ['dash/main.py'], 'dash/main.py'],
    ['nodejs', {}, ['index.js', 'package.json'], 'index.js'],
  ])('%s with %j and %j starts from %s', (mode, metadata, files, primary) => {
    expect(validateBundle(manifest(mode, metadata), ['manifest.json', ...files])).toEqual({
      appMode: canonicalAppMode(mode),
      primaryFile: primary,
    });
  });

  it.each([
    ['static', { primary_html: 'index.html' }, ['other.html'], /"index\.html" as its primary_html/],
    ['static', {}, ['style.css', 'sub/page.html'], /no index\.html, index\.htm/],
    ['shiny', {}, ['ui.R'], /no app\.R or server\.R/],
    ['rmd-static', { primary_rmd: 'report.Rmd' }, ['other.Rmd'], /"report\.Rmd" as its primary_rmd/],
    ['rmd-static', {}, ['sub/report.Rmd'], /no \.Rmd document/],
    ['quarto-static', {}, ['README.md'], /no _quarto\.yml/],
    ['api', {}, ['app.R'], /no plumber\.R or entrypoint\.R/],
    ['tensorflow-saved-model', {}, ['model.h5'], /no saved_model\.pb/],
    ['jupyter-static', { entrypoint: 'analysis.ipynb' }, ['other.ipynb'], /"analysis\.ipynb" as its entrypoint/],
    ['jupyter-voila', { entrypoint: '' }, ['app.py'], /no \.ipynb notebook/],
    ['python-api', { entrypoint: 'app:app' }, ['main.py'], /no module "app".*app\.py or app\/__init__\.py/],
    ['python-fastapi', { entrypoint: 'svc.api' }, ['svc/api/main.py'], /svc\/api\.py or svc\/api\/__init__\.py/],
    ['python-dash', {}, ['dashboard.py'], /no module "app"/],
    ['python-streamlit', {}, ['main.py'], /no script "app\.py"/],
    ['nodejs', { entrypoint: 'server.js' }, ['index.js'], /"server\.js" as its entrypoint/],
  ])('%s with %j and %j is refused', (mode, metadata, files, message) => {
    const err = refusal(() => validateBundle(manifest(mode, metadata), ['manifest.json', ...files]));
    expect(err.message).toMatch(message);
  });
});
