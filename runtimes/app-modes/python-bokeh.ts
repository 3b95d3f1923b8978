import { pythonEnv, scriptOf } from './python-entrypoint.ts';
import { validatePythonModule } from './python-module.ts';
import type { ServedRecipe } from './recipe.ts';

/**
 * A Bokeh server app. Bokeh serves under `--prefix` (the app itself at `<prefix>/<script name>`,
 * the prefix's root redirecting to it), so it gets the full path.
 */
export const recipe: ServedRecipe = {
  mode: 'python-bokeh',
  kind: 'served',
  language: 'python',
  // Relative to the app's root (the prefix): answers with a redirect to the app.
  readinessPath: '/',
  pathMode: 'full',
  validate: validatePythonModule,
  command(ctx) {
    return {
      argv: [
        ctx.environment.executable,
        '-m',
        'bokeh',
        'serve',
        scriptOf(ctx),
        '--port',
        String(ctx.port),
        '--address',
        ctx.host,
        // The proxy answers for the origin; Lectern's own pages are not Bokeh's to police.
        '--allow-websocket-origin=*',
        '--prefix',
        ctx.basePath,
        '--use-xheaders',
      ],
      env: pythonEnv(),
      cwd: ctx.bundleDir,
    };
  },
};
