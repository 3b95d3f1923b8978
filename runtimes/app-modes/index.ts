import type { AppModeRecipe } from './recipe.ts';
import { recipe as api } from './api.ts';
import { recipe as jupyterStatic } from './jupyter-static.ts';
import { recipe as nodejs } from './nodejs.ts';
import { recipe as pythonApi } from './python-api.ts';
import { recipe as pythonBokeh } from './python-bokeh.ts';
import { recipe as pythonDash } from './python-dash.ts';
import { recipe as pythonFastapi } from './python-fastapi.ts';
import { recipe as pythonShiny } from './python-shiny.ts';
import { recipe as pythonStreamlit } from './python-streamlit.ts';
import { recipe as quartoShiny } from './quarto-shiny.ts';
import { recipe as quartoStatic } from './quarto-static.ts';
import { recipe as rmdShiny } from './rmd-shiny.ts';
import { recipe as rmdStatic } from './rmd-static.ts';
import { recipe as shiny } from './shiny.ts';
import { recipe as staticRecipe } from './static.ts';

const RECIPES: readonly AppModeRecipe[] = [
  staticRecipe, shiny, rmdShiny, rmdStatic, api, quartoStatic, quartoShiny,
  pythonApi, pythonFastapi, pythonDash, pythonStreamlit, pythonBokeh, pythonShiny, jupyterStatic, nodejs,
];

const BY_MODE = new Map(RECIPES.map((r) => [r.mode, r]));

/** The recipe for an app mode; undefined for modes Lectern validates but cannot run. */
export function recipeFor(mode: string): AppModeRecipe | undefined {
  return BY_MODE.get(mode);
}

export function runnableModes(): string[] {
  return [...BY_MODE.keys()];
}
