import type { Content } from '../src/domain/content.ts';
import type { Scaling } from '../src/domain/scaling.ts';
import type { ContentFiles } from '../src/services/content-files.ts';
import type { ContentRunner } from '../runtimes/content-runner.ts';
import type { PoolSource } from './instance-pool.ts';
import { serveRequestFor } from './serving.ts';

/** The pool's view of the content table: current settings, and what to keep warm. */
export function poolSource(
  files: ContentFiles,
  runner: Pick<ContentRunner, 'serves'>,
  scalingOf: (c: Content) => Scaling,
  defaultMinProcesses: number,
): PoolSource {
  return {
    async scaling(guid) {
      const c = await files.settingsOf(guid);
      return c && { scaling: scalingOf(c), activeBundleId: c.bundleId };
    },
    async keptWarm() {
      const out = [];
      for (const target of await files.keptWarm(defaultMinProcesses)) {
        if (!runner.serves(target.bundle.appMode)) continue;
        out.push({ request: await serveRequestFor(files, target), scaling: scalingOf(target.content) });
      }
      return out;
    },
  };
}
