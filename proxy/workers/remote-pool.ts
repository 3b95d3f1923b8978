import type { Scaling } from '../../src/domain/scaling.ts';
import { ContentUnavailable } from '../../runtimes/content-runner.ts';
import type { Instance } from '../../runtimes/backend.ts';
import { AtCapacity, type Lease, type Placement, type PoolRequest } from '../instance-pool.ts';
import type { AcquireFailure, Channel, FromWorker, ToWorker } from './protocol.ts';

/** A slot idle this long goes back to the owner, so its process can be stopped when idle. */
const IDLE_RETURN_MS = 1000;

/** Slots this worker holds on one process: each is one of the owner's leases. */
interface Held {
  instance: Instance;
  pathMode: Lease['pathMode'];
  /** Lease ids not in use now, ready for the next request. */
  idle: number[];
  busy: number;
  lastUsed: number;
}

function failureError(f: AcquireFailure): Error {
  if (f.kind === 'capacity') return new AtCapacity(f.message);
  if (f.kind === 'unavailable') return new ContentUnavailable(f.message, f.retryAfter ?? 5);
  return new Error(f.message);
}

/**
 * A proxy worker's side of the instance pool. The owner keeps the counts (connections per
 * process, load factor, capacity, sticky choices) for every worker: each slot it grants is
 * one connection in its count, whether the worker is using it or not. A worker keeps the slots
 * it was granted and reuses idle ones without asking, so it asks only for a new session, a
 * cold start or more load than it holds slots for; idle slots go back after a second, and at
 * once when the owner recalls them (before it would start a process or refuse a request).
 */
export class RemotePool implements Placement {
  /** `guid/bundleId` → process key → slots held. */
  private readonly held = new Map<string, Map<string, Held>>();
  private readonly waiting = new Map<number, { resolve: (m: Extract<ToWorker, { t: 'acquired' }>) => void }>();
  private next = 1;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly owner: Channel<FromWorker>) {
    this.sweeper = setInterval(() => this.returnIdle(Date.now() - IDLE_RETURN_MS), IDLE_RETURN_MS / 2);
    this.sweeper.unref();
  }

  async acquire(req: PoolRequest, s: Scaling, sticky?: string): Promise<Lease> {
    const bundle = `${req.contentGuid}/${req.bundleId}`;
    const local = this.fromHeld(bundle, sticky);
    if (local) return local;
    const request = 'prepare' in req ? await req.prepare() : req;
    const id = this.next++;
    const answer = await new Promise<Extract<ToWorker, { t: 'acquired' }>>((resolve) => {
      this.waiting.set(id, { resolve });
      this.owner.send({ t: 'acquire', id, request, scaling: s, ...(sticky ? { sticky } : {}) });
    });
    if ('failure' in answer) throw failureError(answer.failure);
    let processes = this.held.get(bundle);
    if (!processes) this.held.set(bundle, (processes = new Map()));
    let h = processes.get(answer.instance.key);
    if (!h) processes.set(answer.instance.key, (h = { instance: answer.instance, pathMode: answer.pathMode, idle: [], busy: 0, lastUsed: Date.now() }));
    return this.use(bundle, h, answer.lease);
  }

  /** An idle slot on the named process, else on the least busy process holding one. */
  private fromHeld(bundle: string, sticky: string | undefined): Lease | undefined {
    const processes = this.held.get(bundle);
    if (!processes) return undefined;
    let pick: Held | undefined;
    if (sticky) pick = processes.get(sticky);
    else for (const h of processes.values()) if (h.idle.length && (!pick || h.busy < pick.busy)) pick = h;
    const lease = pick?.idle.pop();
    return pick && lease !== undefined ? this.use(bundle, pick, lease) : undefined;
  }

  private use(bundle: string, h: Held, lease: number): Lease {
    h.busy++;
    let released = false;
    return {
      instance: h.instance,
      pathMode: h.pathMode,
      release: () => {
        if (released) return;
        released = true;
        h.busy--;
        h.lastUsed = Date.now();
        // Still held (the process was not reported gone meanwhile): kept for the next request.
        if (this.held.get(bundle)?.get(h.instance.key) === h) h.idle.push(lease);
        else this.owner.send({ t: 'release', leases: [lease] });
      },
    };
  }

  /** Gives back the idle slots unused since `before` (all of a bundle's with `only`). */
  private returnIdle(before: number, only?: string): number[] {
    const leases: number[] = [];
    for (const [bundle, processes] of this.held) {
      if (only !== undefined && bundle !== only) continue;
      for (const [key, h] of processes) {
        if (h.idle.length && h.lastUsed <= before) leases.push(...h.idle.splice(0));
        if (h.busy === 0 && h.idle.length === 0) processes.delete(key);
      }
      if (processes.size === 0) this.held.delete(bundle);
    }
    if (leases.length && only === undefined) this.owner.send({ t: 'release', leases });
    return leases;
  }

  /** The owner's messages for the pool; false for the others. */
  handle(m: ToWorker): boolean {
    switch (m.t) {
      case 'acquired': {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        w?.resolve(m);
        return true;
      }
      case 'recall':
        this.owner.send({ t: 'recalled', id: m.id, leases: this.returnIdle(Infinity, m.bundle) });
        return true;
      case 'gone':
        for (const [bundle, processes] of this.held) {
          for (const key of m.keys) {
            const h = processes.get(key);
            if (!h) continue;
            processes.delete(key);
            // The owner forgets a stopped process's count; its idle leases are closed there too.
            if (h.idle.length) this.owner.send({ t: 'release', leases: h.idle.splice(0) });
          }
          if (processes.size === 0) this.held.delete(bundle);
        }
        return true;
      default:
        return false;
    }
  }

  /** At shutdown: every idle slot back (busy ones come back as their requests end). */
  close(): void {
    clearInterval(this.sweeper);
    this.returnIdle(Infinity);
  }
}
