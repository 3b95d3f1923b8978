import type { Config } from '../src/config/schema.ts';
import type { ProcessVariables } from '../src/domain/deploy.ts';
import { createDockerBackend } from './docker/create-docker-backend.ts';
import { NO_RUNTIME_CACHES } from './environments/runtime-caches.ts';
import { createLocalBackend } from './local/create-local-backend.ts';
import { createReportRenderer } from './rendering/report-renderer.ts';
import { runtimeCaches } from './runtime-caches.ts';
import { createRunner, type BackendFactory, type BackendName, type Runtime } from './runtime.ts';
import { createSwarmBackend } from './swarm/create-swarm-backend.ts';

export type { Runtime } from './runtime.ts';

/** The backends, by the name runtime.backend gives: a new backend is its folder and one line here. */
const BACKENDS: Record<BackendName, BackendFactory> = {
  local: createLocalBackend,
  docker: createDockerBackend,
  swarm: createSwarmBackend,
};

/**
 * The runtime the server's settings ask for, with its runner. Not yet recovered: the server
 * calls `runtime.backend.recover()` next (app-context.ts), before anything runs.
 */
export async function createRuntime(config: Config, processEnv: ProcessVariables): Promise<Runtime> {
  const name = config.runtime.backend;
  const setup = await BACKENDS[name](config);
  const runner = createRunner(config, setup.backend, processEnv, setup.outputOwner);
  return {
    name,
    backend: setup.backend,
    runner,
    reports: createReportRenderer(runner),
    jobs: setup.jobs,
    interpreters: setup.interpreters,
    runtimeImages: () => setup.runtimeImages(),
    caches: runtimeCaches(setup.caches ?? NO_RUNTIME_CACHES, runner),
    summary: setup.summary,
    warnings: setup.warnings,
    close: async () => {
      await setup.backend.shutdown();
      await runner.settle();
    },
  };
}
