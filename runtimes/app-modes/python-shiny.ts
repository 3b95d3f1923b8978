import { parseEntrypoint, pythonEnv } from './python-entrypoint.ts';
import { validatePythonModule } from './python-module.ts';
import type { ServedRecipe } from './recipe.ts';

/**
 * Shiny for Python. Its page uses relative URLs for assets and its WebSocket, so it works behind
 * the stripped prefix without being told it.
 */
export const recipe: ServedRecipe = {
  mode: 'python-shiny',
  kind: 'served',
  language: 'python',
  readinessPath: '/',
  pathMode: 'stripped',
  validate: validatePythonModule,
  command(ctx) {
    const { module, object } = parseEntrypoint(ctx.manifest.metadata.entrypoint);
    return {
      argv: [ctx.environment.executable, '-m', 'shiny', 'run', '--host', ctx.host, '--port', String(ctx.port), '--app-dir', '.', `${module}:${object}`],
      env: pythonEnv(),
      cwd: ctx.bundleDir,
    };
  },
};
