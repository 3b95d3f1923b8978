import { rscriptCommand } from './r-launch.ts';
import type { ServedRecipe } from './recipe.ts';

/** `app.R`, or `ui.R` + `server.R`, or a single-file app under another name. */
function appTarget(primary: string | null): string {
  if (!primary) return '.';
  const p = primary.replace(/^(\.\/)+/, '');
  return p.includes('/') || ['app.R', 'server.R', 'ui.R'].includes(p) || !/\.R$/i.test(p) ? '.' : p;
}

/** An R Shiny app: `shiny::runApp` on the bundle directory. Shiny's URLs are relative. */
export const recipe: ServedRecipe = {
  mode: 'shiny',
  kind: 'served',
  language: 'r',
  readinessPath: '/',
  pathMode: 'stripped',
  validate(bundle) {
    const found = bundle.first('app.R', 'server.R');
    if (!found) throw bundle.missing('has no app.R or server.R at its root');
    return found;
  },
  command: (ctx) => rscriptCommand(ctx, ['run-shiny'], [appTarget(ctx.primaryFile), ctx.host, String(ctx.port)]),
};
