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
interface Mounts {
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

/** Whether a bundle an instance was left running for is still wanted (its content and bundle exist). */
export type Keep = (contentGuid: string, bundleId: number) => Promise<boolean>;

/** What start-up recovery found: the instances adopted, and what to tell the administrator. */
export interface Recovered {
  /** Instances an earlier run left that serve on, as they are (containers only; never local processes). */
  adopted: Instance[];
  /** For the server log: what was stopped or removed. */
  warnings: string[];
}

/**
 * One engine that runs content: local processes, Docker containers, Swarm services (and
 * Kubernetes later). The app-mode recipes say what to run; a backend says where and how.
 *
 * The server's life with a backend: made by its folder's factory (create-runtime.ts has the
 * registry), `recover()` once, then the runner's calls, then `shutdown()` once when the server
 * stops.
 */
export interface RuntimeBackend {
  /**
   * True when a bundle's processes share one set of variables (a Swarm service's replicas): the
   * runner then makes one process key per bundle, revoked when its last instance stops.
   */
  readonly sharesVariables?: boolean;
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
  /**
   * Start-up recovery, called once, before the runner starts anything. What an earlier run of
   * this server left running is adopted when it can go on serving (a container or service whose
   * bundle `keep` still wants: it is tracked as if start() had made it, its log followed from
   * now on) and stopped and removed otherwise; a backend that cannot adopt (local processes,
   * whose output pipes went with the earlier server) stops all of it. The job records of what
   * is gone are marked lost. Not idempotent: a second call would track the adopted instances
   * twice.
   *
   * It touches only what carries this server's identity (containers and services labelled
   * with its server id, processes whose job marker is in its data directory), never another
   * server's on the same engine or host.
   *
   * Process keys: it neither issues nor revokes any. The caller keeps the key of each adopted
   * instance (`envKey`, else `key`), hands the instances to the runner, which revokes a key when
   * its instance stops, and revokes every other process key left from before.
   */
  recover(keep: Keep): Promise<Recovered>;
  /**
   * Server shutdown: what happens to running instances when the server stops. Local processes
   * are stopped (they cannot outlive the server); containers and services keep serving, only
   * no longer followed, for the next start's recover() to adopt. Renders and starts still under
   * way are not stopped here: the server lets its deploys finish before it shuts the backend
   * down, and whatever is left is the next start's recover() to stop or remove.
   * Idempotent; afterwards the backend is not used again.
   *
   * Process keys: a stopped process's exit reaches onExit(), so the runner revokes its key
   * (the caller waits for that with the runner's settle()); instances left running keep theirs.
   */
  shutdown(): Promise<void>;
}
