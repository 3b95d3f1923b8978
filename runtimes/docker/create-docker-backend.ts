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
async function connect(docker: Docker, backend: string): Promise<string> {
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
async function imageInterpreters(docker: Docker) {
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
 * What the Docker and Swarm backends both stand on: the engine (answering), this server's id,
 * the isolated bridge content and renders run on, the job records, the container backend
 * (content itself for Docker; renders and image builds for Swarm) and what the runtime images
 * offer.
 */
export async function openEngine(config: Config, backend: 'docker' | 'swarm') {
  const docker = new Docker();
  const engine = await connect(docker, backend);
  const server = await serverIdentity(config.dataDir);
  await ensureContentNetwork(docker);
  const jobStore = new JobStore(path.join(config.dataDir, 'jobs'));
  const rc = config.runtime;
  const containers = new DockerBackend({ docker, server, jobs: jobStore, pythonIndexUrl: rc.pythonIndexUrl, rRepository: rc.rRepository });
  return { docker, engine, server, jobStore, containers, ...(await imageInterpreters(docker)) };
}

/**
 * The Docker backend: content in containers of this server's engine (DOCKER_HOST, else the
 * local socket).
 */
export async function createDockerBackend(config: Config): Promise<BackendSetup> {
  const { docker, engine, server, jobStore, containers: backend, interpreters, images, warnings } = await openEngine(config, 'docker');
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
