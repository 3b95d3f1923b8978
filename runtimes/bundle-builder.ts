import type { BuildRequest, BundleBuilder } from '../src/domain/deploy.ts';
import type { ContentRunner } from './content-runner.ts';
import { reportRendered } from './rendering/report-renderer.ts';

/**
 * The deploy pipeline's build step, done by the runtimes layer: a fresh environment, then a
 * render (the rendering side), whose result it gives, or one instance started to prove the app
 * runs (the serving side), as the only start, build or stop of the bundle under way.
 */
export function createBundleBuilder(runner: ContentRunner): BundleBuilder {
  const { recipes, environments, serving, rendering } = runner;
  return {
    build: (req: BuildRequest) =>
      serving.exclusive(req.contentGuid, req.bundleId, async () => {
        const r = recipes.recipe(req.appMode);
        if (r.kind === 'static') {
          req.log('Static content: nothing to build; the files are served as uploaded.');
          return null;
        }
        environments.forget(req.contentGuid, req.bundleId);
        const prepared = await environments.prepare(req, r, req.log);
        const inventory = prepared.environment.inventory;
        if (inventory) req.environmentFound?.(inventory);
        if (r.kind === 'rendered') return reportRendered(await rendering.render(req, null, {}, req.log, req.reportEnv ?? {}));
        await serving.startForDeploy(req, prepared, req.log);
        return null;
      }),
  };
}
