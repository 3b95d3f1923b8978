import { gunicornCommand, parseEntrypoint } from './python-entrypoint.ts';
import { validatePythonModule } from './python-module.ts';
import type { ServedRecipe } from './recipe.ts';

/** A WSGI application (Flask and the like) under gunicorn; `url_for()` gets the public prefix. */
export const recipe: ServedRecipe = {
  mode: 'python-api',
  kind: 'served',
  language: 'python',
  readinessPath: '/',
  pathMode: 'stripped',
  validate: validatePythonModule,
  command(ctx) {
    const { module, object } = parseEntrypoint(ctx.manifest.metadata.entrypoint);
    return gunicornCommand(ctx, `${module}:${object}`);
  },
};
