import { parseEntrypoint, uvicornCommand } from './python-entrypoint.ts';
import { validatePythonModule } from './python-module.ts';
import type { ServedRecipe } from './recipe.ts';

/**
 * An ASGI application (FastAPI, Starlette, Quart) under uvicorn, through Lectern's wrapper
 * (`lectern_asgi`), which sets `root_path` per request from the proxy's `X-Lectern-Base-Path`.
 */
export const recipe: ServedRecipe = {
  mode: 'python-fastapi',
  kind: 'served',
  language: 'python',
  readinessPath: '/',
  pathMode: 'stripped',
  validate: validatePythonModule,
  command(ctx) {
    const { module, object } = parseEntrypoint(ctx.manifest.metadata.entrypoint);
    return uvicornCommand(ctx, `${module}:${object}`);
  },
};
