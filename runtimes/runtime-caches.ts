import type { RuntimeCaches } from '../src/domain/runtime-caches.ts';
import type { ContentRunner } from './content-runner.ts';
import type { RuntimeCacheStore } from './environments/runtime-caches.ts';

/**
 * A backend's runtime caches as the server offers them: a removal also makes every bundle
 * prepared from a removed environment prepare anew, and stops its running instances (they run
 * from files about to be deleted); the next request starts one again, which rebuilds the
 * environment. Renders under way are not stopped: one that needs a file removed fails, and its
 * next run rebuilds too.
 */
export function runtimeCaches(store: RuntimeCacheStore, runner: ContentRunner): RuntimeCaches {
  return {
    list: () => store.list(),
    remove: (cache, log) =>
      store.remove(cache, log, async (dirs) => {
        // Synchronous, so done before the store lets builds in again.
        const users = runner.environments.forgetUsing(dirs);
        for (const b of users) {
          const n = runner.instancesOf(b.contentGuid, b.bundleId).length;
          if (n > 0)
            log(
              `Stopping ${n} process${n === 1 ? '' : 'es'} of content ${b.contentGuid} (bundle ${b.bundleId}) that ran from it; it starts again with a rebuilt environment.`,
            );
          await runner.serving.stopBundle(b.contentGuid, b.bundleId);
        }
      }),
  };
}
