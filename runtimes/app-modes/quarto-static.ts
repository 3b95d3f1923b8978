import path from 'node:path';
import { isQuartoProject, primaryDocument, quartoBinary, renderInWritableCopy } from './r-launch.ts';
import type { BundleFiles } from './bundle-files.ts';
import type { RenderedRecipe } from './recipe.ts';

const OUTPUT = 'index.html';

/**
 * Quarto starts from `primary_rmd` (or `entrypoint`), else a project's `_quarto.yml` or
 * `index.qmd`, else the first `.qmd`, `.ipynb` or `.Rmd` at the root (quarto-shiny too).
 */
export function validateQuarto(bundle: BundleFiles): string {
  const primary = bundle.given('primary_rmd') ?? bundle.given('entrypoint');
  if (primary) return bundle.named(primary, 'primary document');
  const found = bundle.first('index.qmd', '_quarto.yml', '_quarto.yaml') ?? bundle.rootWith('.qmd')[0] ?? bundle.rootWith('.ipynb', '.rmd')[0];
  if (!found) throw bundle.missing('has no _quarto.yml or .qmd, .ipynb or .Rmd document at its root');
  return found;
}

/**
 * A Quarto document or project, rendered: `quarto render <doc> --output-dir <out> --output
 * index.html`, or `quarto render . --output-dir <out>` for a project (whose landing page is its
 * index.html), from a writable copy of the bundle. `format: email` leaves its
 * `.output_metadata.json` in the output (moved there from beside a lone document).
 */
export const recipe: RenderedRecipe = {
  mode: 'quarto-static',
  kind: 'rendered',
  language: 'r',
  needsQuarto: true,
  outputMetadata: true,
  validate: validateQuarto,
  command: (ctx) => {
    const primary = primaryDocument(ctx, 'quarto-static');
    const out = path.resolve(ctx.outputDir);
    const args = isQuartoProject(ctx, primary) ? ['render', '.', '--output-dir', out] : ['render', primary, '--output-dir', out, '--output', OUTPUT];
    return { ...renderInWritableCopy(ctx, [quartoBinary(ctx), ...args], primary, out), output: OUTPUT };
  },
};
