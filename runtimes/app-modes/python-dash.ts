import { gunicornCommand, parseEntrypoint } from './python-entrypoint.ts';
import { validatePythonModule } from './python-module.ts';
import type { ServedRecipe } from './recipe.ts';

/**
 * A Dash app: its Flask server (`<object>.server`) under gunicorn. Dash builds its page's URLs
 * from `requests_pathname_prefix`, read from the environment when the app is constructed, so the
 * page asks for `/content/<guid>/_dash-layout` and the like while the app routes on `/`
 * (the proxy strips the prefix).
 */
export const recipe: ServedRecipe = {
  mode: 'python-dash',
  kind: 'served',
  language: 'python',
  readinessPath: '/',
  pathMode: 'stripped',
  validate: validatePythonModule,
  command(ctx) {
    const { module, object } = parseEntrypoint(ctx.manifest.metadata.entrypoint);
    if (object.endsWith('()'))
      throw new Error(`The Dash entrypoint ${JSON.stringify(ctx.manifest.metadata.entrypoint)} names a factory; name the Dash object (module:app)`);
    return gunicornCommand(ctx, `${module}:${object}.server`, {
      DASH_REQUESTS_PATHNAME_PREFIX: ctx.basePath,
      DASH_ROUTES_PATHNAME_PREFIX: '/',
    });
  },
};
