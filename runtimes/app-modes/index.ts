import type { AppModeKind } from '../../src/domain/app-modes.ts';
import type { AppModeCheck, AppModeRecipe } from './recipe.ts';
import { recipe as api } from './api.ts';
import { recipe as jupyterStatic } from './jupyter-static.ts';
import { check as jupyterVoila } from './jupyter-voila.ts';
import { recipe as nodejs } from './nodejs.ts';
import { recipe as pythonApi } from './python-api.ts';
import { recipe as pythonBokeh } from './python-bokeh.ts';
import { recipe as pythonDash } from './python-dash.ts';
import { recipe as pythonFastapi } from './python-fastapi.ts';
import { check as pythonGradio } from './python-gradio.ts';
import { check as pythonPanel } from './python-panel.ts';
import { recipe as pythonShiny } from './python-shiny.ts';
import { recipe as pythonStreamlit } from './python-streamlit.ts';
import { recipe as quartoShiny } from './quarto-shiny.ts';
import { recipe as quartoStatic } from './quarto-static.ts';
import { recipe as rmdShiny } from './rmd-shiny.ts';
import { recipe as rmdStatic } from './rmd-static.ts';
import { recipe as shiny } from './shiny.ts';
import { recipe as staticRecipe } from './static.ts';
import { check as tensorflowSavedModel } from './tensorflow-saved-model.ts';

/**
 * The app-mode registry. A new mode is one file here and one line in one of these lists (and
 * its Connect ordinal in src/domain/app-modes.ts if Connect has a new one).
 */
const RECIPES: readonly AppModeRecipe[] = [
  staticRecipe,
  shiny,
  rmdShiny,
  rmdStatic,
  api,
  quartoStatic,
  quartoShiny,
  pythonApi,
  pythonFastapi,
  pythonDash,
  pythonStreamlit,
  pythonBokeh,
  pythonShiny,
  jupyterStatic,
  nodejs,
];

/** Modes whose uploads are accepted and checked, though this server cannot run them. */
const UPLOAD_ONLY: readonly AppModeCheck[] = [tensorflowSavedModel, jupyterVoila, pythonGradio, pythonPanel];

const BY_MODE = new Map(RECIPES.map((r) => [r.mode, r]));
const CHECKS = new Map<string, AppModeCheck>([...UPLOAD_ONLY, ...RECIPES].map((c) => [c.mode, c]));

/** The recipe for an app mode; undefined for modes Lectern validates but cannot run. */
export function recipeFor(mode: string): AppModeRecipe | undefined {
  return BY_MODE.get(mode);
}

/** The upload check of an app mode (canonical name), runnable or not. */
export function checkFor(mode: string): AppModeCheck | undefined {
  return CHECKS.get(mode);
}

/** Null for a mode this server cannot run. */
export function kindOf(mode: string): AppModeKind | null {
  return BY_MODE.get(mode)?.kind ?? null;
}
