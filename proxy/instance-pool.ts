import { KeyedShare } from '../src/domain/keyed-lock.ts';
import type { Scaling } from '../src/domain/scaling.ts';
import type { ContentRunner, Served, ServeRequest } from '../runtimes/content-runner.ts';
import type { ServedRecipe } from '../runtimes/app-modes/recipe.ts';
import type { Instance } from '../runtimes/backend.ts';

export type { Scaling };

/** What the pool uses of the runner: its serving side and the recipes. */
export type PoolRunner = Pick<ContentRunner, 'running' | 'instancesOf' | 'recipe' | 'serve' | 'launch' | 'stopInstance'>;

/** What the pool asks about content it was not sent a request for. */
export interface PoolSource {
  /** A content item's scaling now (its settings may have changed since its last request), and its active bundle. */
  scaling(contentGuid: string): Promise<{ scaling: Scaling; activeBundleId: number | null } | undefined>;
  /** The active bundles of content that keeps processes running (`min_processes` above 0). */
  keptWarm(): Promise<Array<{ request: ServeRequest; scaling: Scaling }>>;
}

export class AtCapacity extends Error {}

/**
 * A lease of the pool's: a class, so that no function is made per request (under tsx each
 * costs a `__name` property definition); `release` is bound once, as callers pass it on.
 */
class PoolLease implements Lease {
  private done = false;
  readonly release: () => void;
  constructor(
    readonly instance: Instance,
    readonly pathMode: ServedRecipe['pathMode'],
    pool: InstancePool,
  ) {
    this.release = this.end.bind(this, pool);
  }
  private end(pool: InstancePool): void {
    if (this.done) return;
    this.done = true;
    pool.released(this.instance.key);
  }
}

/** Which bundle a request is for: all the pool needs unless a process must start. */
interface BundleRef {
  contentGuid: string;
  bundleId: number;
  appMode: string;
}

/**
 * A request for a process: the whole ServeRequest, or the bundle and a way to build it (it
 * reads the manifest), which only a cold start or a new process needs.
 */
export type PoolRequest = ServeRequest | (BundleRef & { prepare(): Promise<ServeRequest> });

export interface Lease {
  instance: Instance;
  /** How the app is addressed: under its base path (`full`) or at `/`. */
  pathMode: ServedRecipe['pathMode'];
  /** Call once the request or WebSocket is over. */
  release(): void;
}

/** Where a request gets its process: the pool itself, or (in a proxy worker) the pool's owner. */
export interface Placement {
  /**
   * `spread`: among processes carrying the fewest connections, the one chosen longest ago (the
   * nginx front, whose requests are never counted, so that its load is shared). Otherwise the
   * first, so that under light load the others go idle and are stopped.
   */
  acquire(req: PoolRequest, s: Scaling, sticky?: string, o?: { spread?: boolean }): Promise<Lease>;
}

/**
 * Asked before the pool starts a process or refuses a request for a bundle: proxy workers
 * hold slots they are not using (proxy/workers), and give them back here. True when any came back.
 */
export type Reclaim = (bundle: string) => Promise<boolean>;

function prepared(req: PoolRequest): Promise<ServeRequest> {
  return 'prepare' in req ? req.prepare() : Promise.resolve(req);
}

const REAP_EVERY_MS = 1000;
// How often settings are re-read and `min_processes` topped up.
const MAINTAIN_EVERY_MS = 5000;

/**
 * How many processes each served bundle runs, and which one gets a new connection. A new
 * process starts when every process carries `load_factor × max_conns_per_process`
 * connections (up to `max_processes`); none takes more than `max_conns_per_process`; a
 * session that names its process (the sticky cookie) stays on it. Idle processes are
 * stopped after `idle_timeout` down to `min_processes`, and after a new bundle is activated
 * the old bundle's processes take no new sessions and stop when their last one ends.
 */
export class InstancePool implements Placement {
  private readonly conns = new Map<string, number>();
  private readonly lastUsed = new Map<string, number>();
  private readonly scaling = new Map<string, Scaling>();
  private readonly draining = new Set<string>();
  private readonly growing = new KeyedShare<string, Served>();
  private readonly chosen = new Map<string, number>();
  private choices = 0;
  private readonly timers: NodeJS.Timeout[];
  private maintaining: Promise<void> | undefined;
  /** Set by the workers' owner (proxy/workers/owner.ts). */
  reclaim: Reclaim | undefined;
  /**
   * How long an old bundle's process is kept after its last lease before it is stopped. Set by
   * the nginx front (proxy/front), whose requests end after their lease was released: 0 otherwise.
   */
  lingerMs = 0;

  constructor(
    private readonly runner: PoolRunner,
    private readonly source: PoolSource,
    private readonly log: (msg: string, err: unknown) => void,
  ) {
    this.timers = [setInterval(() => void this.reap(), REAP_EVERY_MS), setInterval(() => void this.maintain(), MAINTAIN_EVERY_MS)];
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  /**
   * Re-reads the settings of every running bundle (a changed idle_timeout or max_processes
   * applies without a request) and starts processes for content below its `min_processes`.
   * Runs every few seconds, at start-up and after each activation.
   */
  maintain(): Promise<void> {
    this.maintaining ??= (async () => {
      try {
        for (const guid of new Set(this.runner.running().map((i) => i.contentGuid))) {
          const now = await this.source.scaling(guid);
          if (!now) continue;
          for (const i of this.runner.running()) {
            // Only the active bundle is kept warm; drafts and old bundles go when idle.
            if (i.contentGuid === guid)
              this.scaling.set(`${guid}/${i.bundleId}`, i.bundleId === now.activeBundleId ? now.scaling : { ...now.scaling, minProcesses: 0 });
          }
        }
        for (const { request, scaling } of await this.source.keptWarm()) {
          const id = `${request.contentGuid}/${request.bundleId}`;
          this.scaling.set(id, scaling);
          const running = this.runner.instancesOf(request.contentGuid, request.bundleId).length;
          // One start per pass: a content item that fails to start does not hog the loop.
          if (running < scaling.minProcesses) await this.grow(id, request).catch((err: unknown) => this.log(`could not keep ${request.contentGuid} warm`, err));
        }
      } catch (err) {
        this.log('could not maintain the process pool', err);
      } finally {
        this.maintaining = undefined;
      }
    })();
    return this.maintaining;
  }

  private count(i: Instance) {
    return this.conns.get(i.key) ?? 0;
  }

  async acquire(req: PoolRequest, s: Scaling, sticky?: string, o: { spread?: boolean } = {}): Promise<Lease> {
    const id = `${req.contentGuid}/${req.bundleId}`;
    this.scaling.set(id, s);
    this.draining.delete(id);
    let served: Served;
    // Only a cold start goes through the runner; otherwise the recipe is all it adds.
    for (let attempt = 0; ; attempt++) {
      const running = this.runner.instancesOf(req.contentGuid, req.bundleId);
      const named = sticky ? running.find((i) => i.key === sticky) : undefined;
      if (running.length === 0) served = await this.runner.serve(await prepared(req));
      else if (named) served = { instance: named, recipe: this.runner.recipe(req.appMode) as ServedRecipe };
      else {
        const least = [...running].sort(
          (a, b) => this.count(a) - this.count(b) || (o.spread ? (this.chosen.get(a.key) ?? 0) - (this.chosen.get(b.key) ?? 0) : 0),
        )[0]!;
        const busy = this.count(least) >= Math.max(1, Math.ceil(s.loadFactor * s.maxConnsPerProcess));
        const full = this.count(least) >= s.maxConnsPerProcess;
        // Slots a worker holds idle count as taken: they come back before anything starts or is refused.
        if ((full || (busy && running.length < s.maxProcesses)) && attempt === 0 && this.reclaim && (await this.reclaim(id))) continue;
        if (busy && running.length < s.maxProcesses) served = await this.grow(id, req);
        else if (full) throw new AtCapacity('This content is at capacity: every process carries as many connections as it may.');
        else served = { instance: least, recipe: this.runner.recipe(req.appMode) as ServedRecipe };
      }
      break;
    }
    const key = served.instance.key;
    this.conns.set(key, (this.conns.get(key) ?? 0) + 1);
    if (o.spread) this.chosen.set(key, ++this.choices);
    return new PoolLease(served.instance, served.recipe.pathMode, this);
  }

  /** A lease's end: called once per lease (PoolLease). */
  released(key: string): void {
    this.conns.set(key, Math.max(0, (this.conns.get(key) ?? 1) - 1));
    this.lastUsed.set(key, Date.now());
  }

  /** One start at a time per bundle: concurrent arrivals share it. */
  private grow(id: string, req: PoolRequest): Promise<Served> {
    return this.growing.run(id, async () => this.runner.launch(await prepared(req)));
  }

  /** After activation: the other bundles' processes stop once their sessions end. */
  drain(contentGuid: string, keepBundle: number): void {
    for (const i of this.runner.running()) {
      if (i.contentGuid === contentGuid && i.bundleId !== keepBundle) this.draining.add(`${i.contentGuid}/${i.bundleId}`);
    }
    void this.reap();
  }

  private async reap(): Promise<void> {
    const now = Date.now();
    const byBundle = new Map<string, Instance[]>();
    for (const i of this.runner.running()) {
      const id = `${i.contentGuid}/${i.bundleId}`;
      byBundle.set(id, [...(byBundle.get(id) ?? []), i]);
    }
    for (const [id, list] of byBundle) {
      const draining = this.draining.has(id);
      // Not yet known (a deploy's first process, before any request): the next maintain() reads it.
      const s = this.scaling.get(id);
      if (!s && !draining) continue;
      let alive = list.length;
      for (const i of list) {
        if (this.count(i) > 0) continue;
        const idle = now - (this.lastUsed.get(i.key) ?? i.startedAt.getTime());
        if ((draining && idle >= this.lingerMs) || (s && idle >= Math.max(s.idleTimeoutMs, this.lingerMs) && alive > s.minProcesses)) {
          alive--;
          this.conns.delete(i.key);
          this.lastUsed.delete(i.key);
          this.chosen.delete(i.key);
          await this.runner.stopInstance(i).catch(() => undefined);
        }
      }
      if (draining && alive === 0) this.draining.delete(id);
    }
  }
}
