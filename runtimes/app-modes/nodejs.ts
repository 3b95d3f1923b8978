import type { ServedRecipe } from './recipe.ts';

/**
 * A Node.js server (Connect's `nodejs` mode): `node <entrypoint>`, told where to listen by
 * PORT and HOST. The bundle must carry its dependencies (`node_modules`): Lectern does not run
 * npm yet. Base paths: the proxy strips the public prefix and sends X-Lectern-Base-Path.
 */
export const recipe: ServedRecipe = {
  mode: 'nodejs',
  kind: 'served',
  language: 'none',
  readinessPath: '/',
  pathMode: 'stripped',
  validate: (bundle) => bundle.named(bundle.given('entrypoint') ?? 'index.js', 'entrypoint'),
  command(ctx) {
    const entry = ctx.manifest.metadata.entrypoint || ctx.primaryFile || 'index.js';
    return {
      // `--`: an entrypoint named like an option (`--inspect`) is still only a file name.
      argv: ['/usr/bin/node', '--', entry],
      env: { PORT: String(ctx.port), HOST: ctx.host, NODE_ENV: 'production' },
      cwd: ctx.bundleDir,
    };
  },
};
