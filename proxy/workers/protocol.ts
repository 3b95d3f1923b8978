import type { Config } from '../../src/config/index.ts';
import type { Scaling } from '../../src/domain/scaling.ts';
import type { UsageBatch } from '../../src/repositories/usage-repo.ts';
import type { Instance } from '../../runtimes/backend.ts';
import type { ServeRequest } from '../../runtimes/content-runner.ts';
import type { Lease } from '../instance-pool.ts';

/**
 * The messages between the proxy workers and their owner (the server process), over the IPC
 * channel cluster.fork opens (structured clone: Dates and Buffers pass as they are). Every
 * message is rare next to requests: a worker asks for a process slot only when it holds no
 * idle one for the bundle (a new session, a cold start, more load), and reports in batches.
 */

/** What an idle worker is told at start: where to listen and how to reach the owner. */
export interface WorkerInit {
  t: 'init';
  /** The server's configuration, as the owner loaded it (plain data). */
  config: Config;
  /** The content origin's port and address, shared by every worker. */
  port: number;
  address: string;
  /** Lectern's own port (links and framing policies name it). */
  mainPort: number;
  /** The owner's content pages, for what the gateway hands on (static files, renders, errors). */
  handoffSocket: string;
  /** Proves a handed-on request came from a worker (the socket is the owner's alone too). */
  handoffSecret: string;
  /** Report requests and WebSockets for the owner's metrics. */
  metrics: boolean;
  /** Note hits, visits and Shiny sessions for the owner's usage writer. */
  usage: boolean;
  /** The owner's database write count now (caches in the worker are void once it moves). */
  generation: number;
}

export type AcquireFailure =
  { kind: 'capacity'; message: string } | { kind: 'unavailable'; message: string; retryAfter?: number } | { kind: 'failed'; message: string };

export type ToWorker =
  | WorkerInit
  | { t: 'acquired'; id: number; lease: number; instance: Instance; pathMode: Lease['pathMode'] }
  | { t: 'acquired'; id: number; failure: AcquireFailure }
  /** The owner's database write count moved: caches of who may see what are void. */
  | { t: 'generation'; n: number }
  /** These processes stopped: slots on them are worthless. */
  | { t: 'gone'; keys: string[] }
  /** Give back every idle slot held for this bundle (`guid/bundleId`): the owner is about to start a process or refuse one. */
  | { t: 'recall'; id: number; bundle: string }
  /** A usage batch the worker sent was written (or not). */
  | { t: 'usage-written'; id: number; error?: string }
  /** Stop taking connections, finish what is in flight, report, exit. */
  | { t: 'drain'; graceSeconds: number };

export interface TrafficReport {
  /** [content guid, status, seconds] per request that ended. */
  ended: Array<[string, number, number]>;
  opened: string[];
  closed: string[];
}

export type FromWorker =
  | { t: 'booted' }
  | { t: 'listening' }
  | { t: 'acquire'; id: number; request: ServeRequest; scaling: Scaling; sticky?: string }
  | { t: 'release'; leases: number[] }
  | { t: 'recalled'; id: number; leases: number[] }
  | { t: 'traffic'; report: TrafficReport }
  | { t: 'usage'; id: number; batch: UsageBatch };

/** One end of the channel: the worker's `process`, or the owner's `cluster.Worker`. */
export interface Channel<Out> {
  send(message: Out): void;
}
