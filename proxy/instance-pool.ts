import type { Content } from '../src/domain/content.ts';
import type { ContentRunner, Served, ServeRequest } from '../runtimes/content-runner.ts';
import type { ServedRecipe } from '../runtimes/app-modes/recipe.ts';
import type { Instance } from '../runtimes/runtime.ts';

/** Connect's scaling settings for one content item. */
export interface Scaling {
  minProcesses: number;
  maxProcesses: number;
  maxConnsPerProcess: number;
  loadFactor: number;
  idleTimeoutMs: number;
}

// Connect's server defaults, used where the content leaves a field null.
export const SCALING_DEFAULTS: Scaling = { minProcesses: 0, maxProcesses: 3, maxConnsPerProcess: 20, loadFactor: 0.5, idleTimeoutMs: 120_000 };

export function scalingOf(c: Content): Scaling {
  const d = SCALING_DEFAULTS;
  const max = Math.max(1, c.max_processes ?? d.maxProcesses);
  return {
    maxProcesses: max,
    minProcesses: Math.min(max, c.min_processes ?? d.minProcesses),
    maxConnsPerProcess: Math.max(1, c.max_conns_per_process ?? d.maxConnsPerProcess),
    loadFactor: Math.min(1, Math.max(0, c.load_factor ?? d.loadFactor)),
    idleTimeoutMs: (c.idle_timeout ?? d.idleTimeoutMs / 1000) * 1000,
  };
}

export class AtCapacity extends Error {}

export interface Lease {
  served: Served;
  /** Call once the request or WebSocket is over. */
  release(): void;
}

const REAP_EVERY_MS = 1000;

/**
 * How many processes each served bundle runs, and which one gets a new connection. A new
 * process starts when every process carries `load_factor × max_conns_per_process`
 * connections (up to `max_processes`); none takes more than `max_conns_per_process`; a
 * session that names its process (the sticky cookie) stays on it. Idle processes are
 * stopped after `idle_timeout` down to `min_processes`, and after a new bundle is activated
 * the old bundle's processes take no new sessions and stop when their last one ends.
 */
export class InstancePool {
  private readonly conns = new Map<string, number>();
  private readonly lastUsed = new Map<string, number>();
  private readonly scaling = new Map<string, Scaling>();
  private readonly draining = new Set<string>();
  private readonly growing = new Map<string, Promise<Served>>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly runner: ContentRunner) {
    this.timer = setInterval(() => void this.reap(), REAP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private count(i: Instance) {
    return this.conns.get(i.key) ?? 0;
  }

  async acquire(req: ServeRequest, s: Scaling, sticky?: string): Promise<Lease> {
    const id = `${req.contentGuid}/${req.bundleId}`;
    this.scaling.set(id, s);
    this.draining.delete(id);
    let served: Served;
    const running = this.runner.instancesOf(req.contentGuid, req.bundleId);
    const named = sticky ? running.find((i) => i.key === sticky) : undefined;
    // Only a cold start goes through the runner; otherwise the recipe is all it adds.
    const recipe = () => this.runner.recipe(req.appMode) as ServedRecipe;
    if (running.length === 0) served = await this.runner.serve(req);
    else if (named) served = { instance: named, recipe: recipe() };
    else {
      const least = [...running].sort((a, b) => this.count(a) - this.count(b))[0]!;
      const busy = this.count(least) >= Math.max(1, Math.ceil(s.loadFactor * s.maxConnsPerProcess));
      if (busy && running.length < s.maxProcesses) served = await this.grow(id, req);
      else if (this.count(least) >= s.maxConnsPerProcess) throw new AtCapacity('This content is at capacity: every process carries as many connections as it may.');
      else served = { instance: least, recipe: recipe() };
    }
    const key = served.instance.key;
    this.conns.set(key, (this.conns.get(key) ?? 0) + 1);
    let released = false;
    return {
      served,
      release: () => {
        if (released) return;
        released = true;
        this.conns.set(key, Math.max(0, (this.conns.get(key) ?? 1) - 1));
        this.lastUsed.set(key, Date.now());
      },
    };
  }

  /** One start at a time per bundle: concurrent arrivals share it. */
  private grow(id: string, req: ServeRequest): Promise<Served> {
    let p = this.growing.get(id);
    if (!p) {
      p = this.runner.launch(req);
      this.growing.set(id, p);
      void p.finally(() => this.growing.delete(id)).catch(() => undefined);
    }
    return p;
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
      const s = this.scaling.get(id) ?? SCALING_DEFAULTS;
      let alive = list.length;
      for (const i of list) {
        if (this.count(i) > 0) continue;
        const idle = now - (this.lastUsed.get(i.key) ?? i.startedAt.getTime());
        if (draining || (idle >= s.idleTimeoutMs && alive > s.minProcesses)) {
          alive--;
          this.conns.delete(i.key);
          this.lastUsed.delete(i.key);
          await this.runner.stopInstance(i).catch(() => undefined);
        }
      }
      if (draining && alive === 0) this.draining.delete(id);
    }
  }
}
