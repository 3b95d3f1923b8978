import path from 'node:path';
import Docker from 'dockerode';
import type { Config } from '../../src/config/schema.ts';
import { createJobDirectory } from '../jobs/job-directory.ts';
import { JobStore } from '../jobs/job-store.ts';
import type { BackendSetup, InstalledInterpreter } from '../runtime.ts';
import { ensureContentNetwork } from './content-network.ts';
import { DockerBackend } from './docker-backend.ts';
import { listRuntimeImages } from './image-catalog.ts';
import { serverIdentity } from './labels.ts';

/** The engine answers, or Lectern says how to make it. */
export async function connect(docker: Docker, backend: string): Promise<string> {
  try {
    const v = await docker.version();
    return v.Version;
  } catch (err) {
    // Where dockerode looked: DOCKER_HOST as docker-modem read it, else the local socket.
    // (Its default socket is a function that finds /var/run/docker.sock.)
    const m = docker.modem as unknown as { socketPath?: unknown; host?: string; port?: number | string; protocol?: string };
    const where = m.host
      ? `${m.protocol ?? 'tcp'}://${m.host}:${m.port}`
      : `unix://${typeof m.socketPath === 'string' ? m.socketPath : '/var/run/docker.sock'}`;
    throw new Error(
      `runtime.backend is ${backend}, but the Docker engine at ${where} does not answer (${(err as Error).message}): start dockerd, or set DOCKER_HOST.`,
    );
  }
}

/** What the runtime images offer, as `rsconnect details` and the start-up log show it. */
export async function imageInterpreters(docker: Docker) {
  const warnings: string[] = [];
  const images = await listRuntimeImages(docker);
  if (!images.length) warnings.push('no runtime images: content cannot run until `lectern runtimes build` has made them');
  const interpreters = { python: [] as InstalledInterpreter[], r: [] as InstalledInterpreter[] };
  for (const i of images) {
    if (i.python) interpreters.python.push({ language: 'python', path: '/usr/bin/python3', version: i.python, image: i.name });
    if (i.r) interpreters.r.push({ language: 'r', path: '/usr/bin/R', version: i.r, image: i.name });
  }
  return { interpreters, images, warnings };
}

/**
 * The Docker backend: content in containers of this server's engine (DOCKER_HOST, else the
 * local socket).
 */
export async function createDockerBackend(config: Config): Promise<BackendSetup> {
  const docker = new Docker();
  const engine = await connect(docker, 'docker');
  const server = await serverIdentity(config.dataDir);
  await ensureContentNetwork(docker);
  const jobStore = new JobStore(path.join(config.dataDir, 'jobs'));
  const rc = config.runtime;
  const backend = new DockerBackend({ docker, server, jobs: jobStore, pythonIndexUrl: rc.pythonIndexUrl, rRepository: rc.rRepository });
  const { interpreters, images, warnings } = await imageInterpreters(docker);
  return {
    backend,
    jobs: createJobDirectory(jobStore, backend),
    interpreters,
    runtimeImages: () => listRuntimeImages(docker),
    summary: { backend: 'docker', engine, server, images: images.map((i) => i.name) },
    warnings,
    outputOwner: null,
  };
}
