import type Docker from 'dockerode';
import { environment, mapper } from '../content-process.ts';
import type { InstanceSpec, Limits, ProcessSpec } from '../backend.ts';
import { CONTENT_USER } from './bundle-image.ts';
import { CONTENT_NETWORK } from './content-network.ts';
import { LABEL } from './labels.ts';

/** The port every app listens on inside its own container (each has a network namespace of its own). */
export const CONTAINER_PORT = 8080;

export function containerName(key: string): string {
  return `lectern-${key}`;
}

function limits(l: Limits): Docker.HostConfig {
  const h: Docker.HostConfig = {};
  if (l.memoryBytes) {
    h.Memory = l.memoryBytes;
    // No swap beyond the limit: a limit that swaps is not a limit.
    h.MemorySwap = l.memoryBytes;
  }
  if (l.cpus) h.NanoCpus = Math.round(l.cpus * 1e9);
  return h;
}

/**
 * What every content container shares: the content's account (never root), no capabilities,
 * no privilege gain, a bounded process count, a read-only root file system with a private
 * writable /tmp (HOME is there too), and the per-content limits.
 */
/** A process as a container sees it: argv, variables and directory at the container's paths, and Lectern's labels. */
export function processView(spec: ProcessSpec, server: string, kind: 'app' | 'render' | 'service') {
  const map = mapper(spec, true);
  const env = environment(spec, map, { name: 'lectern-app' });
  return {
    cmd: spec.command.argv.map(map),
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    cwd: map(spec.command.cwd),
    labels: {
      [LABEL.managed]: 'true',
      [LABEL.server]: server,
      [LABEL.content]: spec.contentGuid,
      [LABEL.bundle]: String(spec.bundleId),
      [LABEL.job]: spec.key,
      [LABEL.kind]: kind,
      [LABEL.startedAt]: new Date().toISOString(),
    } as Record<string, string>,
  };
}

function base(spec: ProcessSpec, image: string, server: string, kind: 'app' | 'render'): Docker.ContainerCreateOptions {
  const view = processView(spec, server, kind);
  return {
    name: containerName(spec.key),
    Image: image,
    Cmd: view.cmd,
    Entrypoint: [],
    Env: view.env,
    WorkingDir: view.cwd,
    User: CONTENT_USER,
    Labels: view.labels,
    HostConfig: {
      // The engine keeps no copy of the output (its json-file log would grow without bound
      // under a flood): Lectern reads it by attach into its own capped job log.
      LogConfig: { Type: 'none', Config: {} },
      NetworkMode: CONTENT_NETWORK,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,mode=1777' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 1024,
      // An init as PID 1: R and Python do not act on SIGTERM as PID 1, so a stop would always
      // wait out its grace period and kill; the init passes the signal on and reaps children.
      Init: true,
      ...limits(spec.limits),
    },
  };
}

/** A served app: its port published on the host's loopback at a port the engine picks (read back after start). */
export function appContainer(spec: InstanceSpec, image: string, server: string): Docker.ContainerCreateOptions {
  const o = base(spec, image, server, 'app');
  const port = `${spec.port}/tcp`;
  o.Labels![LABEL.port] = String(spec.port);
  o.ExposedPorts = { [port]: {} };
  o.HostConfig!.PortBindings = { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] };
  return o;
}

/** A render: no published port; its output goes to a volume of its own, copied out when it ends. */
export function renderContainer(spec: ProcessSpec, image: string, server: string, outputPath: string): Docker.ContainerCreateOptions {
  const o = base(spec, image, server, 'render');
  o.Volumes = { [outputPath]: {} };
  return o;
}
