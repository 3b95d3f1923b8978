import { pythonEnv, scriptOf } from './python-entrypoint.ts';
import { pythonModuleFile } from './python-module.ts';
import type { ServedRecipe } from './recipe.ts';

/**
 * A Streamlit script. Streamlit serves everything (page, static files, `_stcore/stream`
 * WebSocket) under `--server.baseUrlPath`, so it gets the full path. CORS and XSRF checks are
 * off: the app is only reached through Lectern's proxy, on Lectern's origin.
 */
export const recipe: ServedRecipe = {
  mode: 'python-streamlit',
  kind: 'served',
  language: 'python',
  // Relative to the app's root, which is the base path in `full` mode.
  readinessPath: '/_stcore/health',
  pathMode: 'full',
  validate(bundle) {
    const entry = bundle.given('entrypoint') ?? 'app.py';
    const found = bundle.has(entry) ? entry : pythonModuleFile(entry, bundle);
    if (!found) throw bundle.missing(`has no script ${JSON.stringify(entry)} (its entrypoint)`);
    return found;
  },
  command(ctx) {
    return {
      argv: [
        ctx.environment.executable,
        '-m',
        'streamlit',
        'run',
        scriptOf(ctx),
        '--server.port',
        String(ctx.port),
        '--server.address',
        ctx.host,
        '--server.baseUrlPath',
        ctx.basePath.replace(/^\/+|\/+$/g, ''),
        '--server.headless',
        'true',
        '--browser.gatherUsageStats',
        'false',
        '--server.enableCORS',
        'false',
        '--server.enableXsrfProtection',
        'false',
        // Deployed files do not change: no watcher threads.
        '--server.fileWatcherType',
        'none',
      ],
      env: pythonEnv(),
      cwd: ctx.bundleDir,
    };
  },
};
