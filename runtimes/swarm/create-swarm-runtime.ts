import path from 'node:path';
import Docker from 'dockerode';
import type { Config } from '../../src/config/schema.ts';
import type { ProcessEnvironment } from '../../src/domain/deploy.ts';
import { connect, imageInterpreters } from '../docker/create-docker-runtime.ts';
import { ensureContentNetwork } from '../docker/content-network.ts';
import { DockerBackend } from '../docker/docker-backend.ts';
import { listEnvironments } from '../docker/environments.ts';
import { serverIdentity } from '../docker/labels.ts';
import { createJobDirectory } from '../jobs/job-directory.ts';
import { JobStore } from '../jobs/job-store.ts';
import { createRunner, type Keep, type Runtime } from '../runtime-handle.ts';
import { SwarmBackend } from './swarm-backend.ts';

/**
 * The Swarm runtime: the engine Lectern talks to is a swarm manager; served bundles are its
 * services, images are built there (and pushed to `runtime.swarmRegistry` for other nodes),
 * renders run as containers there.
 */
export async function createSwarmRuntime(config: Config, processEnv: ProcessEnvironment, keep: Keep): Promise<Runtime> {
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
  // Render containers an earlier run left behind; services are recovered below.
  const { removed } = await containers.recover(async () => false, false);
  if (removed) warnings.push(`removed ${removed} content container(s) left by an earlier run`);
  const adopted = await backend.recover(keep);
  const runner = createRunner(config, backend, processEnv, null);
  return {
    backend: 'swarm',
    runner,
    jobs: createJobDirectory(jobStore, backend),
    interpreters,
    environments: () => listEnvironments(docker),
    summary: { backend: 'swarm', engine, server, registry: rc.swarmRegistry ?? null, images: images.map((i) => i.name), adopted: adopted.length },
    warnings,
    adoptedKeys: [...new Set(adopted.map((i) => i.envKey ?? i.key))],
    adopt: (revoke) => runner.adopt(adopted, revoke),
    close: async () => {
      backend.detachAll();
      containers.detachAll();
      await runner.settle();
    },
  };
}
