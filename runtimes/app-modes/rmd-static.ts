import path from 'node:path';
import { primaryDocument, rscriptCommand } from './r-launch.ts';
import type { BundleFiles } from './bundle-files.ts';
import type { RenderedRecipe } from './recipe.ts';

const OUTPUT = 'index.html';

/** R Markdown starts from `primary_rmd`, else `index.Rmd` or the first `.Rmd` at the root (rmd-shiny too). */
export function validateRmd(bundle: BundleFiles): string {
  const primary = bundle.given('primary_rmd');
  if (primary) return bundle.named(primary, 'primary_rmd');
  const found = bundle.first('index.Rmd') ?? bundle.rootWith('.rmd')[0];
  if (!found) throw bundle.missing('has no .Rmd document at its root');
  return found;
}

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
  validate: validateRmd,
  command: (ctx) => ({
    ...rscriptCommand(ctx, ['work-copy', 'render-rmd'], [primaryDocument(ctx, 'rmd-static'), path.resolve(ctx.outputDir), OUTPUT]),
    output: OUTPUT,
  }),
};
