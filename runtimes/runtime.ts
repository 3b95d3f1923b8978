import type { JobLogEntry } from '../src/domain/jobs.ts';
import type { Manifest } from '../src/domain/manifest.ts';
import type { CommandSpec } from './app-modes/recipe.ts';
import type { RestoredEnvironment } from './environments/environment.ts';
import type { Interpreter } from './interpreters.ts';

export interface PrepareRequest {
  contentGuid: string;
  bundleId: number;
  appMode: string;
  language: 'r' | 'python' | 'none';
  bundleDir: string;
  manifest: Manifest;
  /** Environment management for this content (Connect's per-content switch, else the server default). */
  managed: boolean;
  /** The runtime image the content pins (content setting, else manifest `environment.image`); container backends only. */
  imageName: string | null;
  log(line: string): void;
}

export interface Prepared {
  interpreter: Interpreter | null;
  environment: RestoredEnvironment;
}

/** Where a process's files are on the host; a backend maps them into its sandbox or container. */
export interface Mounts {
  bundleDir: string;
  envDir: string | null;
  /** Writable, for renders. */
  outputDir?: string;
}

export interface ProcessSpec {
  /** The job's key: its name in logs, the jobs API and the backend. */
  key: string;
  contentGuid: string;
  bundleId: number;
  command: CommandSpec;
  mounts: Mounts;
  /** Added last: CONNECT_* variables and the content's own (decrypted just now). */
  env: Record<string, string>;
  /** Per-content ceilings (Connect's memory_limit, cpu_limit); container backends enforce them. */
  limits: Limits;
}

export interface Limits {
  memoryBytes: number | null;
  cpus: number | null;
}

export interface InstanceSpec extends ProcessSpec {
  port: number;
  host: string;
  readinessPath: string;
  initTimeoutMs: number;
}

export interface Instance {
  key: string;
  /** The job its process API key is named by, when not its own (replicas sharing a service's environment). */
  envKey?: string;
  contentGuid: string;
  bundleId: number;
  /** Where to send requests: `http://127.0.0.1:<port>`. */
  target: string;
  pid: number | null;
  startedAt: Date;
}

export interface RunSpec extends ProcessSpec {
  timeoutMs: number;
  /** Each output line, as it happens (into the deploy or render task). */
  log(line: string): void;
}

/**
 * One engine that runs content: local processes now; Docker, Swarm and Kubernetes later. The
 * app-mode recipes say what to run; a backend says where and how.
 */
export interface RuntimeBackend {
  /**
   * True when a bundle's processes share one environment (a Swarm service's replicas): the
   * runner then makes one process key per bundle, revoked when its last instance stops.
   */
  readonly sharesEnvironment?: boolean;
  /** Restores the environment (local) or builds the image (containers). */
  prepare(req: PrepareRequest): Promise<Prepared>;
  /**
   * Where a served app is told to listen: a free loopback port for local processes; inside a
   * container, a fixed port on all its interfaces (the engine publishes it and start() reads
   * the host's port back).
   */
  listenAddress(): Promise<{ host: string; port: number }>;
  /** Starts a served app; resolves once it answers HTTP, rejects with a readable reason. */
  start(spec: InstanceSpec): Promise<Instance>;
  /** Stops an instance or a job. Idempotent; touches only what this backend started. */
  stop(key: string): Promise<void>;
  /** Runs a render to completion. */
  run(spec: RunSpec): Promise<{ exitCode: number | null; timedOut: boolean }>;
  /** What runs now; after a restart, whatever is left from before is adopted or stopped. */
  list(): Promise<Instance[]>;
  /** A job's output so far (local: its log file; containers: the engine's log). */
  logs(contentGuid: string, key: string): Promise<JobLogEntry[]>;
  /** Frees what a deleted bundle (or, with null, every bundle of deleted content) still holds: its image. */
  discard(contentGuid: string, bundleId: number | null): Promise<void>;
  /** Called whenever a started instance exits: `stopped` when stop() asked it to, else it died by itself. */
  onExit(listener: (instance: Instance, code: number | null, stopped: boolean) => void): void;
}
