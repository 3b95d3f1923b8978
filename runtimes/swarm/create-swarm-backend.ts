import type { Config } from '../../src/config/schema.ts';
import { openEngine } from '../docker/create-docker-backend.ts';
import { listRuntimeImages } from '../docker/image-catalog.ts';
import { createJobDirectory } from '../jobs/job-directory.ts';
import type { BackendSetup } from '../runtime.ts';
import { SwarmBackend } from './swarm-backend.ts';

/**
 * The Swarm backend: the engine Lectern talks to is a swarm manager; served bundles are its
 * services, images are built there (and pushed to `runtime.swarmRegistry` for other nodes),
 * renders run as containers there.
 */
export async function createSwarmBackend(config: Config): Promise<BackendSetup> {
  // Renders run as plain containers on the manager, on the isolated bridge.
  const { docker, engine, server, jobStore, containers, interpreters, images, warnings } = await openEngine(config, 'swarm');
  const rc = config.runtime;
  const backend = new SwarmBackend({ docker, server, jobs: jobStore, containers, registry: rc.swarmRegistry ?? null });
  await backend.init();
  return {
    backend,
    jobs: createJobDirectory(jobStore, backend),
    interpreters,
    runtimeImages: () => listRuntimeImages(docker),
    summary: { backend: 'swarm', engine, server, registry: rc.swarmRegistry ?? null, images: images.map((i) => i.name) },
    warnings,
    outputOwner: null,
  };
}
