import type { BuildRequest, BundleBuilder } from '../src/domain/deploy.ts';

/** Modes whose build is complete in this version of Lectern. */
const BUILDERS: Record<string, (req: BuildRequest) => Promise<void>> = {
  static: async (req) => {
    req.log('Static content: nothing to build; the files are served as uploaded.');
  },
};

/**
 * The runtimes layer's build step, one recipe per app mode. A mode with no recipe yet fails
 * the deploy with a message saying so, rather than pretending to have deployed it.
 */
export function createBundleBuilder(): BundleBuilder {
  return {
    async build(req) {
      const build = BUILDERS[req.appMode];
      if (!build) {
        throw new Error(`This server cannot run "${req.appMode}" content yet: the bundle was uploaded and validated, but only static content can be deployed in this version of Lectern.`);
      }
      await build(req);
    },
  };
}
