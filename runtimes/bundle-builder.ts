import type { BundleBuilder } from '../src/domain/deploy.ts';
import type { ContentRunner } from './content-runner.ts';

/** The deploy pipeline's build step, done by the runtimes layer. */
export function createBundleBuilder(runner: ContentRunner): BundleBuilder {
  return { build: (req) => runner.build(req) };
}
