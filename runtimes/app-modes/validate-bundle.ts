import { canonicalAppMode, deployableAppModes, isKnownAppMode } from '../../src/domain/app-modes.ts';
import { AppError, ErrorCode } from '../../src/domain/errors.ts';
import type { Manifest } from '../../src/domain/manifest.ts';

export interface BundleCheck {
  /** Canonical mode name (`jupyter` and `quarto` resolved to their `-static` modes). */
  appMode: string;
  /** The file the mode starts from, or null when the mode has none (multi-notebook Voila). */
  primaryFile: string | null;
}

const PYTHON_APP_MODES = new Set([
  'python-api',
  'python-fastapi',
  'python-dash',
  'python-shiny',
  'python-bokeh',
  'python-gradio',
  'python-panel',
]);

function missing(mode: string, what: string): AppError {
  return AppError.badRequest(`bundle for appmode "${mode}" ${what}`, ErrorCode.invalidParameter);
}

/** Manifest paths may carry R's `./`; the extracted file list never does. */
const clean = (p: string) => p.replace(/^(\.\/)+/, '');

/** A manifest string field that is set to something: null and '' both mean "not given". */
function given(value: string | null | undefined): string | null {
  return typeof value === 'string' && value !== '' ? clean(value) : null;
}

/**
 * Checks that a bundle can be run as the mode its manifest declares: the mode is one this
 * server knows, and the file that mode starts from is in the bundle. Pure: looks only at the
 * manifest and the list of extracted files.
 */
export function validateBundle(manifest: Manifest, files: readonly string[]): BundleCheck {
  const declared = manifest.metadata.appmode;
  if (!isKnownAppMode(declared)) {
    throw AppError.badRequest(
      `appmode ${JSON.stringify(declared)} is not supported; supported modes: ${deployableAppModes().join(', ')}`,
      ErrorCode.invalidParameter,
    );
  }
  const mode = canonicalAppMode(declared);
  const have = new Set(files);
  const atRoot = files.filter((f) => !f.includes('/')).sort();
  const rootWith = (...exts: string[]) => atRoot.filter((f) => exts.some((e) => f.toLowerCase().endsWith(e)));
  const first = (...names: string[]) => names.find((n) => have.has(n)) ?? null;
  const meta = manifest.metadata;

  /** A file the manifest names explicitly must be there. */
  const named = (p: string, field: string) => {
    if (!have.has(p)) throw missing(mode, `names ${JSON.stringify(p)} as its ${field}, but the bundle has no such file`);
    return p;
  };

  switch (mode) {
    case 'static': {
      const primary = given(meta.primary_html) ?? given(meta.entrypoint);
      if (primary) return { appMode: mode, primaryFile: named(primary, 'primary_html') };
      const found = first('index.html', 'index.htm') ?? rootWith('.html', '.htm')[0];
      if (!found) throw missing(mode, 'has no index.html, index.htm or other .html file at its root');
      return { appMode: mode, primaryFile: found };
    }
    case 'shiny': {
      const found = first('app.R', 'server.R');
      if (!found) throw missing(mode, 'has no app.R or server.R at its root');
      return { appMode: mode, primaryFile: found };
    }
    case 'rmd-shiny':
    case 'rmd-static': {
      const primary = given(meta.primary_rmd);
      if (primary) return { appMode: mode, primaryFile: named(primary, 'primary_rmd') };
      const found = first('index.Rmd') ?? rootWith('.rmd')[0];
      if (!found) throw missing(mode, 'has no .Rmd document at its root');
      return { appMode: mode, primaryFile: found };
    }
    case 'quarto-shiny':
    case 'quarto-static': {
      const primary = given(meta.primary_rmd) ?? given(meta.entrypoint);
      if (primary) return { appMode: mode, primaryFile: named(primary, 'primary document') };
      const found =
        first('index.qmd', '_quarto.yml', '_quarto.yaml') ?? rootWith('.qmd')[0] ?? rootWith('.ipynb', '.rmd')[0];
      if (!found) throw missing(mode, 'has no _quarto.yml or .qmd, .ipynb or .Rmd document at its root');
      return { appMode: mode, primaryFile: found };
    }
    case 'api': {
      const found = first('plumber.R', 'entrypoint.R');
      if (!found) throw missing(mode, 'has no plumber.R or entrypoint.R at its root');
      return { appMode: mode, primaryFile: found };
    }
    case 'tensorflow-saved-model': {
      const found = [...files].sort().find((f) => f === 'saved_model.pb' || f.endsWith('/saved_model.pb'));
      if (!found) throw missing(mode, 'has no saved_model.pb');
      return { appMode: mode, primaryFile: found };
    }
    case 'jupyter-static': {
      const entry = given(meta.entrypoint);
      if (entry) return { appMode: mode, primaryFile: named(entry, 'entrypoint') };
      const found = first('index.ipynb') ?? rootWith('.ipynb')[0];
      if (!found) throw missing(mode, 'has no entrypoint and no .ipynb notebook at its root');
      return { appMode: mode, primaryFile: found };
    }
    case 'jupyter-voila': {
      const entry = given(meta.entrypoint);
      if (entry) return { appMode: mode, primaryFile: named(entry, 'entrypoint') };
      // An empty entrypoint is Voila's multi-notebook mode: any notebook will do.
      if (!files.some((f) => f.toLowerCase().endsWith('.ipynb'))) throw missing(mode, 'has no .ipynb notebook');
      return { appMode: mode, primaryFile: null };
    }
    case 'python-streamlit': {
      const entry = given(meta.entrypoint) ?? 'app.py';
      const found = have.has(entry) ? entry : pythonModuleFile(entry, have);
      if (!found) throw missing(mode, `has no script ${JSON.stringify(entry)} (its entrypoint)`);
      return { appMode: mode, primaryFile: found };
    }
    case 'nodejs': {
      const entry = given(meta.entrypoint) ?? 'index.js';
      return { appMode: mode, primaryFile: named(entry, 'entrypoint') };
    }
    default: {
      if (!PYTHON_APP_MODES.has(mode)) throw new Error(`validateBundle: no rule for appmode ${mode}`);
      const entry = given(meta.entrypoint) ?? 'app';
      const found = pythonModuleFile(entry, have);
      if (!found) {
        const module = entry.split(':')[0] ?? entry;
        throw missing(mode, `has no module ${JSON.stringify(module)} (entrypoint ${JSON.stringify(entry)}); expected ${moduleCandidates(module).join(' or ')}`);
      }
      return { appMode: mode, primaryFile: found };
    }
  }
}

/** `a.b` → `a/b.py`, `a/b/__init__.py`. */
function moduleCandidates(module: string): string[] {
  const base = module.split('.').join('/');
  return [`${base}.py`, `${base}/__init__.py`];
}

/**
 * The file behind a `module[:object]` entrypoint (the object defaults to `app` at run time).
 * A path to an existing file is accepted too, since people do write `app.py` there.
 */
function pythonModuleFile(entrypoint: string, have: ReadonlySet<string>): string | null {
  const module = entrypoint.split(':')[0] ?? '';
  if (module === '') return null;
  if (have.has(module)) return module;
  return moduleCandidates(module).find((c) => have.has(c)) ?? null;
}
