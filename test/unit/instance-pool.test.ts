import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtCapacity, InstancePool, type Lease, type PoolRunner, type PoolSource } from '../../proxy/instance-pool.ts';
import { acquireFailure } from '../../proxy/serving.ts';
import type { ServedRecipe } from '../../runtimes/app-modes/recipe.ts';
import type { Served, ServeRequest } from '../../runtimes/content-runner.ts';
import type { Instance } from '../../runtimes/backend.ts';
import type { Scaling } from '../../src/domain/scaling.ts';

const GUID = '00000000-0000-4000-8000-000000000001';
const recipe: ServedRecipe = {
  mode: 'python-fastapi',
  kind: 'served',
  language: 'python',
  readinessPath: '/',
  pathMode: 'stripped',
  validate: () => null,
  command: () => ({ argv: [], env: {}, cwd: '/' }),
};

function request(bundleId = 1): ServeRequest {
  return {
    contentGuid: GUID,
    bundleId,
    appMode: recipe.mode,
    primaryFile: null,
    bundleDir: '/nowhere',
    manifest: { version: 1, metadata: { appmode: recipe.mode } } as ServeRequest['manifest'],
    settings: { initTimeoutSeconds: null, pythonEnvironmentManagement: null, rEnvironmentManagement: null, memoryLimit: null, cpuLimit: null, imageName: null },
  };
}

function scaling(s: Partial<Scaling> = {}): Scaling {
  return { maxProcesses: 3, minProcesses: 0, maxConnsPerProcess: 2, loadFactor: 1, idleTimeoutMs: 10_000, ...s };
}

/** The serving side as the pool sees it, with no processes: instances are records. */
class FakeRunner implements PoolRunner {
  readonly instances: Instance[] = [];
  readonly stopped: string[] = [];
  starts = 0;
  private n = 0;
  /** Holds launches open while set, to see concurrent arrivals share one. */
  launchGate: Promise<void> | null = null;

  running() {
    return [...this.instances];
  }
  instancesOf(contentGuid: string, bundleId: number) {
    return this.instances.filter((i) => i.contentGuid === contentGuid && i.bundleId === bundleId);
  }
  recipe() {
    return recipe;
  }
  private start(req: ServeRequest): Served {
    this.starts++;
    const instance: Instance = {
      key: `i${++this.n}`,
      contentGuid: req.contentGuid,
      bundleId: req.bundleId,
      target: `http://127.0.0.1:${9000 + this.n}`,
      pid: null,
      startedAt: new Date(),
    };
    this.instances.push(instance);
    return { instance, recipe };
  }
  async serve(req: ServeRequest) {
    return this.instancesOf(req.contentGuid, req.bundleId).length ? { instance: this.instancesOf(req.contentGuid, req.bundleId)[0]!, recipe } : this.start(req);
  }
  async launch(req: ServeRequest) {
    if (this.launchGate) await this.launchGate;
    return this.start(req);
  }
  async stopInstance(i: Instance) {
    this.stopped.push(i.key);
    this.instances.splice(this.instances.indexOf(i), 1);
  }
}

function source(over: Partial<PoolSource> = {}): PoolSource {
  return { scaling: async () => undefined, keptWarm: async () => [], ...over };
}

let pool: InstancePool | undefined;
let runner: FakeRunner;
const logged: string[] = [];

function makePool(src: PoolSource = source()) {
  pool = new InstancePool(runner, src, (msg) => logged.push(msg));
  return pool;
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
  runner = new FakeRunner();
  logged.length = 0;
});
afterEach(() => {
  pool?.stop();
  pool = undefined;
  vi.useRealTimers();
});

const keyOf = (lease: Lease) => lease.instance.key;

describe('the instance pool', () => {
  it('cold-starts the first process and gives each connection the least loaded one', async () => {
    const p = makePool();
    const s = scaling({ maxConnsPerProcess: 2, loadFactor: 1 });
    const a = await p.acquire(request(), s);
    const b = await p.acquire(request(), s);
    expect([keyOf(a), keyOf(b)]).toEqual(['i1', 'i1']);
    // i1 carries load_factor × max_conns_per_process = 2: the next connection gets a new process.
    const c = await p.acquire(request(), s);
    expect(keyOf(c)).toBe('i2');
    a.release();
    b.release();
    // i1 now carries none, i2 one: the least loaded wins.
    expect(keyOf(await p.acquire(request(), s))).toBe('i1');
    expect(runner.starts).toBe(2);
  });

  it('shares uncounted requests among idle processes when asked to spread (the nginx front), and otherwise keeps to the first', async () => {
    const p = makePool();
    const s = scaling({ maxConnsPerProcess: 1, loadFactor: 1 });
    // Three processes, all idle again.
    const held = [await p.acquire(request(), s), await p.acquire(request(), s), await p.acquire(request(), s)];
    for (const l of held) l.release();
    const pick = async (spread: boolean) => {
      const l = await p.acquire(request(), s, undefined, { spread });
      l.release();
      return keyOf(l);
    };
    expect([await pick(false), await pick(false), await pick(false)]).toEqual(['i1', 'i1', 'i1']);
    const spread = [];
    for (let i = 0; i < 6; i++) spread.push(await pick(true));
    expect(spread).toEqual(['i1', 'i2', 'i3', 'i1', 'i2', 'i3']);
  });

  it('starts another process early when load_factor is below 1', async () => {
    const p = makePool();
    const s = scaling({ maxConnsPerProcess: 4, loadFactor: 0.5 });
    const keys = [];
    for (let i = 0; i < 3; i++) keys.push(keyOf(await p.acquire(request(), s)));
    // Two connections make i1 busy (0.5 × 4), so the third starts i2.
    expect(keys).toEqual(['i1', 'i1', 'i2']);
  });

  it('grows to max_processes, then shares up to max_conns_per_process, then refuses (503)', async () => {
    const p = makePool();
    const s = scaling({ maxProcesses: 2, maxConnsPerProcess: 2, loadFactor: 0.5 });
    const keys = [];
    for (let i = 0; i < 4; i++) keys.push(keyOf(await p.acquire(request(), s)));
    expect(keys.sort()).toEqual(['i1', 'i1', 'i2', 'i2']);
    expect(runner.starts).toBe(2);
    const refused = await p.acquire(request(), s).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AtCapacity);
    const { error, retryAfter } = acquireFailure(refused, false);
    expect(error.status).toBe(503);
    expect(retryAfter).toBe(5);
  });

  it('sends a session that names its process (sticky) to it, however loaded', async () => {
    const p = makePool();
    const s = scaling({ maxConnsPerProcess: 1, loadFactor: 1 });
    const first = await p.acquire(request(), s);
    const second = await p.acquire(request(), s);
    expect([keyOf(first), keyOf(second)]).toEqual(['i1', 'i2']);
    second.release();
    expect(keyOf(await p.acquire(request(), s, 'i1'))).toBe('i1');
    // An unknown name falls back to the usual choice.
    expect(keyOf(await p.acquire(request(), s, 'gone'))).toBe('i2');
  });

  it('lets concurrent arrivals share one start', async () => {
    const p = makePool();
    const s = scaling({ maxConnsPerProcess: 5, loadFactor: 0.2 });
    await p.acquire(request(), s);
    let open!: () => void;
    runner.launchGate = new Promise((r) => (open = r));
    const waiting = [p.acquire(request(), s), p.acquire(request(), s)];
    open();
    const keys = (await Promise.all(waiting)).map(keyOf);
    expect(keys).toEqual(['i2', 'i2']);
    expect(runner.starts).toBe(2);
  });

  it('stops a process idle for idle_timeout, keeping min_processes', async () => {
    const p = makePool();
    const s = scaling({ maxConnsPerProcess: 1, minProcesses: 1, idleTimeoutMs: 10_000 });
    const a = await p.acquire(request(), s);
    const b = await p.acquire(request(), s);
    a.release();
    b.release();
    await vi.advanceTimersByTimeAsync(9_000);
    expect(runner.stopped).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runner.stopped).toHaveLength(1);
    expect(runner.running()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runner.running()).toHaveLength(1);
  });

  it('never stops a process that carries a connection', async () => {
    const p = makePool();
    await p.acquire(request(), scaling({ idleTimeoutMs: 1_000 }));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(runner.stopped).toEqual([]);
  });

  it('keeps min_processes warm, one start per pass, for content never requested', async () => {
    const warm = scaling({ minProcesses: 2 });
    const p = makePool(source({ keptWarm: async () => [{ request: request(), scaling: warm }] }));
    await p.maintain();
    expect(runner.running()).toHaveLength(1);
    await p.maintain();
    expect(runner.running()).toHaveLength(2);
    await p.maintain();
    expect(runner.running()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runner.stopped).toEqual([]);
  });

  it('after an activation, drains the old bundle: its idle processes stop now, its busy ones when their last session ends', async () => {
    const p = makePool(source({ scaling: async () => ({ scaling: scaling(), activeBundleId: 2 }) }));
    const s = scaling({ maxConnsPerProcess: 1, minProcesses: 1, idleTimeoutMs: 3_600_000 });
    const busy = await p.acquire(request(1), s);
    const idle = await p.acquire(request(1), s);
    expect([keyOf(busy), keyOf(idle)]).toEqual(['i1', 'i2']);
    idle.release();
    await p.acquire(request(2), s);
    p.drain(GUID, 2);
    await vi.advanceTimersByTimeAsync(0);
    // Neither min_processes nor idle_timeout hold a draining bundle; its busy process stays.
    expect(runner.stopped).toEqual(['i2']);
    expect(runner.instancesOf(GUID, 1).map((i) => i.key)).toEqual(['i1']);
    busy.release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runner.instancesOf(GUID, 1)).toEqual([]);
    expect(runner.instancesOf(GUID, 2).map((i) => i.key)).toEqual(['i3']);
  });

  it("keeps an old bundle's process for lingerMs after its last lease (the nginx front may still be relaying to it)", async () => {
    const p = makePool(source({ scaling: async () => ({ scaling: scaling(), activeBundleId: 2 }) }));
    p.lingerMs = 60_000;
    const s = scaling({ maxConnsPerProcess: 1, idleTimeoutMs: 10_000 });
    // The front's way: the lease is released as soon as the process is chosen.
    (await p.acquire(request(1), s)).release();
    await p.acquire(request(2), s);
    p.drain(GUID, 2);
    await vi.advanceTimersByTimeAsync(30_000);
    // Neither the drain nor idle_timeout stops it while nginx may still carry its requests.
    expect(runner.instancesOf(GUID, 1).map((i) => i.key)).toEqual(['i1']);
    await vi.advanceTimersByTimeAsync(31_000);
    expect(runner.instancesOf(GUID, 1)).toEqual([]);
  });
});
