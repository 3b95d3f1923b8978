import { validateQuarto } from './quarto-static.ts';
import { primaryDocument, quartoBinary, serveFromWritableCopy } from './r-launch.ts';
import type { ServedRecipe } from './recipe.ts';

/** A Quarto document with `server: shiny`: `quarto serve`, from a writable copy of the bundle. */
export const recipe: ServedRecipe = {
  mode: 'quarto-shiny',
  kind: 'served',
  language: 'r',
  needsQuarto: true,
  readinessPath: '/',
  pathMode: 'stripped',
  validate: validateQuarto,
  command: (ctx) =>
    serveFromWritableCopy(ctx, [
      quartoBinary(ctx),
      'serve',
      primaryDocument(ctx, 'quarto-shiny'),
      '--no-browser',
      '--host',
      ctx.host,
      '--port',
      String(ctx.port),
    ]),
};
