import { primaryDocument, rscriptCommand } from './r-launch.ts';
import type { ServedRecipe } from './recipe.ts';
import { validateRmd } from './rmd-static.ts';

/**
 * R Markdown with `runtime: shiny` or `shiny_prerendered`: `rmarkdown::run`, from a writable
 * copy of the bundle (a prerendered document is written next to itself; the bundle may be
 * read-only).
 */
export const recipe: ServedRecipe = {
  mode: 'rmd-shiny',
  kind: 'served',
  language: 'r',
  readinessPath: '/',
  pathMode: 'stripped',
  validate: validateRmd,
  command: (ctx) => rscriptCommand(ctx, ['work-copy', 'run-rmd-shiny'], [primaryDocument(ctx, 'rmd-shiny'), ctx.host, String(ctx.port)]),
};
