import type { Config } from '../src/config/schema.ts';
import type { ProcessEnvironment } from '../src/domain/deploy.ts';
import { createDockerRuntime } from './docker/create-docker-runtime.ts';
import { createLocalRuntime } from './local/create-local-runtime.ts';
import { createSwarmRuntime } from './swarm/create-swarm-runtime.ts';
import type { Keep, Runtime } from './runtime-handle.ts';

export type { Runtime } from './runtime-handle.ts';

/** The runtime the server's settings ask for: local processes, or Docker containers. */
export function createRuntime(config: Config, processEnv: ProcessEnvironment, keep: Keep): Promise<Runtime> {
  switch (config.runtime.backend) {
    case 'docker':
      return createDockerRuntime(config, processEnv, keep);
    case 'swarm':
      return createSwarmRuntime(config, processEnv, keep);
    default:
      return createLocalRuntime(config, processEnv);
  }
}

