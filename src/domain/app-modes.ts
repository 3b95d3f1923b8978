/**
 * Connect's content types ("app modes"), keyed by the string that manifest.json and the v1 API
 * use, valued by the ordinal that v0 endpoints return as `app_mode` (connect-api.md §7.3).
 *
 * `jupyter` and `quarto` are not rows of that table, but Connect's manifest reference lists them
 * as accepted `appmode` values. They are taken as aliases of `jupyter-static` and
 * `quarto-static` (what they mean in practice: a rendered notebook or document) and carry those
 * ordinals, so a v0 caller never sees a number Connect would not send. `canonicalAppMode` maps
 * them to the real name, which is what gets stored and dispatched on.
 */
export const APP_MODES: Readonly<Record<string, number>> = Object.freeze({
  unknown: 0,
  shiny: 1,
  'rmd-shiny': 2,
  'rmd-static': 3,
  static: 4,
  api: 5,
  'tensorflow-saved-model': 6,
  'jupyter-static': 7,
  'python-api': 8,
  'python-dash': 9,
  'python-streamlit': 10,
  'python-bokeh': 11,
  'python-fastapi': 12,
  'quarto-shiny': 13,
  'quarto-static': 14,
  'python-shiny': 15,
  'jupyter-voila': 16,
  'python-gradio': 17,
  'python-panel': 18,
  nodejs: 20,
  jupyter: 7,
  quarto: 14,
});

const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  jupyter: 'jupyter-static',
  quarto: 'quarto-static',
});

const has = (mode: string) => Object.prototype.hasOwnProperty.call(APP_MODES, mode);

/** True for a mode a bundle may declare. `unknown` only marks content that has no bundle yet. */
export function isKnownAppMode(mode: string): boolean {
  return mode !== 'unknown' && has(mode);
}

/** The v0 ordinal; 0 (`unknown`) for anything not in the table. */
export function appModeOrdinal(mode: string): number {
  return has(mode) ? (APP_MODES[mode] ?? 0) : 0;
}

/** The table's own name for a mode: aliases resolved, everything else unchanged. */
export function canonicalAppMode(mode: string): string {
  return Object.prototype.hasOwnProperty.call(ALIASES, mode) ? (ALIASES[mode] ?? mode) : mode;
}

/** Deployable modes by their canonical names, for error messages. */
export function deployableAppModes(): string[] {
  return Object.keys(APP_MODES).filter((m) => isKnownAppMode(m) && !(m in ALIASES));
}

/**
 * How a mode's content reaches viewers: `rendered` once into files (a report), `served` by a
 * running process (an app or API), or `static`, its files as uploaded.
 */
export type AppModeKind = 'rendered' | 'served' | 'static';

/**
 * Each mode's kind, as its recipe (runtimes/app-modes) declares it; wired in the composition
 * root, so the API asks rather than keeping its own list.
 */
export interface AppModeKinds {
  /** Null for a mode this server cannot run. */
  kindOf(mode: string): AppModeKind | null;
}
