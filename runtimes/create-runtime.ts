import type { Config } from '../src/config/schema.ts';
import type { ProcessEnvironment } from '../src/domain/deploy.ts';
import { createDockerRuntime } from './docker/create-docker-runtime.ts';
import { createLocalRuntime } from './local/create-local-runtime.ts';
import type { Keep, Runtime } from './runtime-handle.ts';

export type { Runtime } from './runtime-handle.ts';

/** The runtime the server's settings ask for: local processes, or Docker containers. */
export function createRuntime(config: Config, processEnv: ProcessEnvironment, keep: Keep): Promise<Runtime> {
  return config.runtime.backend === 'docker' ? createDockerRuntime(config, processEnv, keep) : createLocalRuntime(config, processEnv);
}

