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

/** A variable's value must fit in one execve string (Linux: 128 KiB); real parameters are a few hundred bytes. */
const MAX_PARAMS_JSON = 64 * 1024;

/** The variables that hand a variant's parameters to render-rmd.R (none: the document's defaults). */
function paramsEnv(params: Record<string, unknown> | undefined): Record<string, string> {
  if (!params) return {};
  const json = JSON.stringify(params);
  if (Buffer.byteLength(json) > MAX_PARAMS_JSON)
    throw new Error(`The report's parameters take more than ${MAX_PARAMS_JSON / 1024} KiB as JSON; they cannot be passed to R.`);
  return { LECTERN_RENDER_PARAMS: json };
}

/**
 * R Markdown rendered once: `rmarkdown::render` into the output directory as `index.html`, with
 * the variant's parameters if it has any, else the report's defaults. The bundle may be
 * read-only, so R renders from a writable copy of it in its temporary directory (knitr writes
 * figures, caches and chunk output next to the document); files over 16 MB are linked rather
 * than copied. The document's `rmd_output_metadata` is written to `.output_metadata.json`.
 */
export const recipe: RenderedRecipe = {
  mode: 'rmd-static',
  kind: 'rendered',
  language: 'r',
  outputMetadata: true,
  validate: validateRmd,
  command: (ctx) => {
    const cmd = rscriptCommand(ctx, ['work-copy', 'render-rmd'], [primaryDocument(ctx, 'rmd-static'), path.resolve(ctx.outputDir), OUTPUT]);
    // LECTERN_ is reserved: a content variable cannot shadow it.
    return { ...cmd, env: { ...cmd.env, ...paramsEnv(ctx.params) }, output: OUTPUT };
  },
};
