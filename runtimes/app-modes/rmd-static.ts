import path from 'node:path';
import { primaryDocument, rscriptCommand } from './r-launch.ts';
import type { RenderedRecipe } from './recipe.ts';

const OUTPUT = 'index.html';

/**
 * R Markdown rendered once: `rmarkdown::render` into the output directory as `index.html`, with
 * the report's default parameters. The bundle may be read-only, so R renders from a writable
 * copy of it in its temporary directory (knitr writes figures, caches and chunk output next to
 * the document); files over 16 MB are linked rather than copied.
 */
export const recipe: RenderedRecipe = {
  mode: 'rmd-static',
  kind: 'rendered',
  language: 'r',
  command: (ctx) => ({
    ...rscriptCommand(ctx, ['work-copy', 'render-rmd'], [primaryDocument(ctx, 'rmd-static'), path.resolve(ctx.outputDir), OUTPUT]),
    output: OUTPUT,
  }),
};
