import path from 'node:path';
import { inWritableCopy, isQuartoProject, primaryDocument, quartoBinary } from './r-launch.ts';
import type { RenderedRecipe } from './recipe.ts';

const OUTPUT = 'index.html';

/**
 * A Quarto document or project, rendered: `quarto render <doc> --output-dir <out> --output
 * index.html`, or `quarto render . --output-dir <out>` for a project (whose landing page is its
 * index.html), from a writable copy of the bundle.
 */
export const recipe: RenderedRecipe = {
  mode: 'quarto-static',
  kind: 'rendered',
  language: 'r',
  needsQuarto: true,
  command: (ctx) => {
    const primary = primaryDocument(ctx, 'quarto-static');
    const out = path.resolve(ctx.outputDir);
    const args = isQuartoProject(ctx, primary)
      ? ['render', '.', '--output-dir', out]
      : ['render', primary, '--output-dir', out, '--output', OUTPUT];
    return { ...inWritableCopy(ctx, [quartoBinary(ctx), ...args], false), output: OUTPUT };
  },
};
