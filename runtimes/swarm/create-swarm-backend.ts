import path from 'node:path';
import Docker from 'dockerode';
import type { Config } from '../../src/config/schema.ts';
import { connect, imageInterpreters } from '../docker/create-docker-backend.ts';
import { ensureContentNetwork } from '../docker/content-network.ts';
import { DockerBackend } from '../docker/docker-backend.ts';
import { listRuntimeImages } from '../docker/image-catalog.ts';
import { serverIdentity } from '../docker/labels.ts';
import { createJobDirectory } from '../jobs/job-directory.ts';
import { JobStore } from '../jobs/job-store.ts';
import type { BackendSetup } from '../runtime.ts';
import { SwarmBackend } from './swarm-backend.ts';

/**
 * The Swarm backend: the engine Lectern talks to is a swarm manager; served bundles are its
 * services, images are built there (and pushed to `runtime.swarmRegistry` for other nodes),
 * renders run as containers there.
 */
export async function createSwarmBackend(config: Config): Promise<BackendSetup> {
  const docker = new Docker();
  const engine = await connect(docker, 'swarm');
  const server = await serverIdentity(config.dataDir);
  // Renders run as plain containers on the manager, on the isolated bridge.
  await ensureContentNetwork(docker);
  const jobStore = new JobStore(path.join(config.dataDir, 'jobs'));
  const rc = config.runtime;
  const containers = new DockerBackend({ docker, server, jobs: jobStore, pythonIndexUrl: rc.pythonIndexUrl, rRepository: rc.rRepository });
  const backend = new SwarmBackend({ docker, server, jobs: jobStore, containers, registry: rc.swarmRegistry ?? null });
  await backend.init();
  const { interpreters, images, warnings } = await imageInterpreters(docker);
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
