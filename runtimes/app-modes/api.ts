import { rscriptCommand } from './r-launch.ts';
import type { ServedRecipe } from './recipe.ts';

/**
 * A Plumber API: `plumber::pr_run(plumber::plumb(dir = bundle))`, which finds `entrypoint.R`
 * or `plumber.R`. Readiness asks a path no API defines: plumber's 404 is an answer, and no
 * endpoint of the publisher's runs just to probe.
 */
export const recipe: ServedRecipe = {
  mode: 'api',
  kind: 'served',
  language: 'r',
  readinessPath: '/__lectern_ready__',
  pathMode: 'stripped',
  validate(bundle) {
    const found = bundle.first('plumber.R', 'entrypoint.R');
    if (!found) throw bundle.missing('has no plumber.R or entrypoint.R at its root');
    return found;
  },
  command: (ctx) => rscriptCommand(ctx, ['run-plumber'], [ctx.host, String(ctx.port)]),
};
