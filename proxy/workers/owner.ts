import cluster, { type Worker } from 'node:cluster';
import { mkdirSync, rmSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../src/config/index.ts';
import type { UsageBatch } from '../../src/repositories/usage-repo.ts';
import type { ContentRunner } from '../../runtimes/content-runner.ts';
import { ContentUnavailable } from '../../runtimes/content-runner.ts';
import { AtCapacity, type InstancePool, type Lease } from '../instance-pool.ts';
import type { TrafficRecorder } from '../traffic.ts';
import type { AcquireFailure, FromWorker, ToWorker, WorkerInit } from './protocol.ts';

/** How long the owner waits for workers to give back idle slots it recalled. */
const RECALL_WAIT_MS = 1000;
/** How often the owner looks for processes that stopped, to tell the workers. */
const GONE_EVERY_MS = 1000;
/** A worker that died is replaced, but not more often than this (one that cannot start). */
const RESTART_PAUSE_MS = 1000;

export interface ProxyWorkersOptions {
  count: number;
  /** The worker's entry file (src/proxy-worker.ts), run with `execArgv`. */
  exec: string;
  execArgv: string[];
  config: Config;
  port: number;
  address: string;
  mainPort: number;
  handoffSocket: string;
  handoffSecret: string;
  pool: InstancePool;
  runner: Pick<ContentRunner, 'running'>;
  /** The database write count of this process. */
  generation: () => number;
  traffic: TrafficRecorder | undefined;
  /** Writes the usage rows workers noted; absent when usage is off. */
  writeUsage: ((batch: UsageBatch) => Promise<void>) | undefined;
  logger: Logger;
}

function failureOf(err: unknown): AcquireFailure {
  if (err instanceof AtCapacity) return { kind: 'capacity', message: err.message };
  if (err instanceof ContentUnavailable) return { kind: 'unavailable', message: err.message, retryAfter: err.retryAfterSeconds };
  return { kind: 'failed', message: (err as Error).message };
}

/**
 * The content origin's data plane in worker processes (`proxy.workers` of them), sharing its
 * listening socket, each with its own connection pools to the apps. This process, the owner,
 * keeps what must be exact across them: the instance pool's counts (every slot a worker holds
 * is a lease here), sticky choices, cold starts, and what the workers report (usage rows,
 * metrics). It tells them when its database writes void their caches and when processes stop.
 */
export class ProxyWorkers {
  private readonly workers = new Set<Worker>();
  private readonly leases = new Map<number, { lease: Lease; worker: Worker }>();
  private nextLease = 1;
  private readonly recalls = new Map<number, { leases: number[]; done: () => void }>();
  private nextRecall = 1;
  private closing = false;
  private lastStart = 0;
  private known = new Set<string>();
  private readonly goneTimer: NodeJS.Timeout;
  private generationQueued = false;

  constructor(private readonly o: ProxyWorkersOptions) {
    o.pool.reclaim = (bundle) => this.recall(bundle);
    this.goneTimer = setInterval(() => this.tellGone(), GONE_EVERY_MS);
    this.goneTimer.unref();
  }

  /** Forks the workers; resolves once every one listens. */
  async start(): Promise<void> {
    // Each worker accepts on the shared socket itself: no hop through this process per connection.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: this.o.exec, execArgv: this.o.execArgv, serialization: 'advanced' });
    await Promise.all(Array.from({ length: this.o.count }, () => this.fork()));
  }

  /** The content origin's port the workers listen on. */
  get port(): number {
    return this.o.port;
  }

  pids(): number[] {
    return [...this.workers].map((w) => w.process.pid).filter((p): p is number => p !== undefined);
  }

  private fork(): Promise<void> {
    this.lastStart = Date.now();
    const w = cluster.fork();
    this.workers.add(w);
    const init: WorkerInit = {
      t: 'init',
      config: this.o.config,
      port: this.o.port,
      address: this.o.address,
      mainPort: this.o.mainPort,
      handoffSocket: this.o.handoffSocket,
      handoffSecret: this.o.handoffSecret,
      metrics: !!this.o.traffic,
      usage: !!this.o.writeUsage,
      generation: this.o.generation(),
    };
    return new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromWorker) => {
        // Sent once its handler is in place: a message before that would be lost (the
        // worker's modules load asynchronously, through tsx).
        if (m.t === 'booted') w.send(init);
        else if (m.t === 'listening') resolve();
        else this.handle(w, m);
      });
      w.once('exit', (code, signal) => {
        this.workers.delete(w);
        reject(new Error(`a proxy worker exited before it listened (${signal ?? code})`));
        // Its slots are free again: the requests it carried are gone with it.
        for (const [id, l] of this.leases) {
          if (l.worker !== w) continue;
          l.lease.release();
          this.leases.delete(id);
        }
        for (const r of this.recalls.values()) r.done();
        if (this.closing) return;
        this.o.logger.error({ pid: w.process.pid, code, signal }, 'a proxy worker stopped; starting another');
        const pause = Math.max(0, RESTART_PAUSE_MS - (Date.now() - this.lastStart));
        setTimeout(() => {
          if (!this.closing) this.fork().catch((err: unknown) => this.o.logger.error({ err }, 'a proxy worker could not start'));
        }, pause).unref();
      });
    });
  }

  private send(w: Worker, m: ToWorker) {
    if (w.isConnected()) w.send(m);
  }

  private handle(w: Worker, m: FromWorker) {
    switch (m.t) {
      case 'acquire':
        this.o.pool.acquire(m.request, m.scaling, m.sticky).then(
          (lease) => {
            if (!w.isConnected()) return lease.release();
            const id = this.nextLease++;
            this.leases.set(id, { lease, worker: w });
            this.send(w, { t: 'acquired', id: m.id, lease: id, instance: lease.instance, pathMode: lease.pathMode });
          },
          (err: unknown) => this.send(w, { t: 'acquired', id: m.id, failure: failureOf(err) }),
        );
        return;
      case 'release':
        for (const id of m.leases) {
          this.leases.get(id)?.lease.release();
          this.leases.delete(id);
        }
        return;
      case 'recalled': {
        const r = this.recalls.get(m.id);
        if (!r) {
          // Too late for the recall: still given back.
          for (const id of m.leases) this.leases.get(id)?.lease.release();
          for (const id of m.leases) this.leases.delete(id);
          return;
        }
        r.leases.push(...m.leases);
        r.done();
        return;
      }
      case 'traffic': {
        const t = this.o.traffic;
        if (!t) return;
        for (const [guid, status, seconds] of m.report.ended) t.requestEnded(guid, status, seconds);
        for (const guid of m.report.opened) t.websocketOpened(guid);
        for (const guid of m.report.closed) t.websocketClosed(guid);
        return;
      }
      case 'usage': {
        const write = this.o.writeUsage;
        if (!write) return this.send(w, { t: 'usage-written', id: m.id, error: 'usage is off' });
        write(m.batch).then(
          () => this.send(w, { t: 'usage-written', id: m.id }),
          (err: unknown) => this.send(w, { t: 'usage-written', id: m.id, error: (err as Error).message }),
        );
        return;
      }
      default:
        return;
    }
  }

  /** Asks every worker for its idle slots on a bundle; true when any came back. */
  private async recall(bundle: string): Promise<boolean> {
    const live = [...this.workers].filter((w) => w.isConnected());
    if (live.length === 0) return false;
    const id = this.nextRecall++;
    const leases: number[] = [];
    await new Promise<void>((resolve) => {
      let left = live.length;
      const timer = setTimeout(finish, RECALL_WAIT_MS);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.recalls.set(id, {
        leases,
        done: () => {
          if (--left <= 0) finish();
        },
      });
      for (const w of live) this.send(w, { t: 'recall', id, bundle });
    });
    this.recalls.delete(id);
    for (const lid of leases) {
      this.leases.get(lid)?.lease.release();
      this.leases.delete(lid);
    }
    return leases.length > 0;
  }

  /** Processes that stopped since the last look: the workers drop the slots they hold on them. */
  private tellGone() {
    const now = new Set(this.o.runner.running().map((i) => i.key));
    const gone = [...this.known].filter((k) => !now.has(k));
    this.known = now;
    if (gone.length) for (const w of this.workers) this.send(w, { t: 'gone', keys: gone });
  }

  /** This process wrote to the database: the workers' caches of who may see what are void. */
  noteWrite(): void {
    if (this.generationQueued) return;
    this.generationQueued = true;
    setImmediate(() => {
      this.generationQueued = false;
      const n = this.o.generation();
      for (const w of this.workers) this.send(w, { t: 'generation', n });
    });
  }

  /** Lets every worker finish what it carries (up to the grace period) and waits for it to exit. */
  async close(graceSeconds: number): Promise<void> {
    this.closing = true;
    clearInterval(this.goneTimer);
    this.o.pool.reclaim = undefined;
    await Promise.all(
      [...this.workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            this.send(w, { t: 'drain', graceSeconds });
            // One that does not finish in time is stopped.
            setTimeout(() => w.process.kill('SIGKILL'), (graceSeconds + 5) * 1000).unref();
          }),
      ),
    );
  }
}

/**
 * The server process's side of proxy workers: its content pages on their private socket (a
 * 0700 directory in the data directory, a stale socket of an earlier run replaced), then the
 * workers, listening once this resolves.
 */
export async function startProxyWorkers(pages: http.Server, o: ProxyWorkersOptions): Promise<ProxyWorkers> {
  mkdirSync(path.dirname(o.handoffSocket), { recursive: true, mode: 0o700 });
  rmSync(o.handoffSocket, { force: true });
  await new Promise<void>((resolve, reject) => pages.once('error', reject).listen(o.handoffSocket, () => resolve()));
  const workers = new ProxyWorkers(o);
  await workers.start();
  return workers;
}
