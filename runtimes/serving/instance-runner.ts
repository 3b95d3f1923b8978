import { randomBytes } from 'node:crypto';
import type { ProcessVariables } from '../../src/domain/deploy.ts';
import { KeyedLock } from '../../src/domain/keyed-lock.ts';
import type { ServedRecipe } from '../app-modes/recipe.ts';
import type { PreparedEnvironments } from '../prepared-environments.ts';
import { ProcessKeys } from '../process-keys.ts';
import { basePath, limitsOf, type BundleRun, type RecipeBook } from '../recipe-book.ts';
import type { Instance, Prepared, RuntimeBackend } from '../backend.ts';
import { CrashBackoff } from './crash-backoff.ts';

/** What the proxy needs to start a served bundle on demand. */
export type ServeRequest = BundleRun;

export interface Served {
  instance: Instance;
  recipe: ServedRecipe;
}

function bundleKey(contentGuid: string, bundleId: number) {
  return `${contentGuid}/${bundleId}`;
}

/**
 * The serving side: the running instances of each served bundle, for the proxy's pool (which
 * decides how many): cold starts, one more instance, stops, instances adopted after a restart,
 * their process keys, and the back-off of an app that keeps crashing.
 */
export class InstanceRunner {
  private readonly instances = new Map<string, Instance[]>();
  private readonly backoff = new CrashBackoff();
  // One start, build or stop of a bundle at a time: a stop that arrives during a cold start
  // waits for it and then stops what it started, and two cold starts make one instance.
  private readonly lock = new KeyedLock();
  private readonly keys: ProcessKeys;

  constructor(
    private readonly backend: RuntimeBackend,
    processEnv: ProcessVariables,
    private readonly recipes: RecipeBook,
    private readonly environments: PreparedEnvironments,
    private readonly initTimeoutSeconds: number,
  ) {
    this.keys = new ProcessKeys(processEnv, !!backend.sharesVariables);
    backend.onExit((instance, _code, stopped) => {
      void this.keys.release(instance.key);
      const id = bundleKey(instance.contentGuid, instance.bundleId);
      this.forget(id, instance.key);
      this.backoff.exited(id, Date.now() - instance.startedAt.getTime(), stopped);
    });
  }

  private forget(id: string, key: string) {
    const left = (this.instances.get(id) ?? []).filter((i) => i.key !== key);
    if (left.length) this.instances.set(id, left);
    else this.instances.delete(id);
  }

  /** Runs `fn` as the only start, build or stop of the bundle under way (the deploy's build). */
  exclusive<T>(contentGuid: string, bundleId: number, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(bundleKey(contentGuid, bundleId), fn);
  }

  /** The running instances of a bundle, oldest first. */
  instancesOf(contentGuid: string, bundleId: number): Instance[] {
    return this.instances.get(bundleKey(contentGuid, bundleId)) ?? [];
  }

  running(): Instance[] {
    return [...this.instances.values()].flat();
  }

  private servedRecipe(mode: string): ServedRecipe {
    const r = this.recipes.recipe(mode);
    if (r.kind !== 'served') throw new Error(`${mode} content is not a served app.`);
    return r;
  }

  /**
   * The deploy's check that a served bundle runs: its old instances stopped, its back-off
   * cleared, one instance started and kept. Call inside `exclusive`, with the fresh environment.
   */
  async startForDeploy(req: BundleRun, prepared: Prepared, log: (l: string) => void): Promise<Served> {
    const r = this.servedRecipe(req.appMode);
    await this.stopUnlocked(req.contentGuid, req.bundleId);
    this.backoff.clear(bundleKey(req.contentGuid, req.bundleId));
    log('Starting the app to check that it runs...');
    const served = await this.start(req, r, prepared, 'deploy');
    log(`The app answered on ${served.instance.target} as job ${served.instance.key}.`);
    return served;
  }

  private async start(req: BundleRun, r: ServedRecipe, prepared: Prepared, tag: 'deploy' | 'request'): Promise<Served> {
    const listen = await this.backend.listenAddress();
    const key = `${tag === 'deploy' ? 'd' : 'p'}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const cmd = r.command(this.recipes.context(req, prepared, listen, ''));
    const { env, release } = await this.keys.forInstance(req.contentGuid, req.bundleId, key);
    try {
      const instance = await this.backend.start({
        key,
        contentGuid: req.contentGuid,
        bundleId: req.bundleId,
        command: cmd,
        mounts: { bundleDir: req.bundleDir, envDir: prepared.environment.dir },
        env,
        limits: limitsOf(req.settings),
        host: listen.host,
        port: listen.port,
        // An app that serves under its base path answers readiness there too.
        readinessPath: `${r.pathMode === 'full' ? basePath(req.contentGuid).replace(/\/$/, '') : ''}${r.readinessPath.startsWith('/') ? r.readinessPath : `/${r.readinessPath}`}`,
        initTimeoutMs: (req.settings.initTimeoutSeconds ?? this.initTimeoutSeconds) * 1000,
      });
      const id = bundleKey(req.contentGuid, req.bundleId);
      this.instances.set(id, [...(this.instances.get(id) ?? []), instance]);
      this.keys.keep(instance.key, release);
      return { instance, recipe: r };
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** A running instance of a served bundle, started now if there is none (a cold start). */
  async serve(req: ServeRequest): Promise<Served> {
    const id = bundleKey(req.contentGuid, req.bundleId);
    const r = this.servedRecipe(req.appMode);
    const running = this.instances.get(id)?.[0];
    if (running) return { instance: running, recipe: r };
    this.backoff.check(id);
    return this.lock.run(id, async () => {
      // Another request may have started it while this one waited.
      const started = this.instances.get(id)?.[0];
      if (started) return { instance: started, recipe: r };
      const prepared = await this.environments.prepare(req, r, () => undefined);
      return this.start(req, r, prepared, 'request');
    });
  }

  /** One more instance of a served bundle (the pool decided it needs one). */
  async launch(req: ServeRequest): Promise<Served> {
    const id = bundleKey(req.contentGuid, req.bundleId);
    const r = this.servedRecipe(req.appMode);
    this.backoff.check(id);
    return this.lock.run(id, async () => this.start(req, r, await this.environments.prepare(req, r, () => undefined), 'request'));
  }

  /** Stops one instance (idle, or drained). */
  async stopInstance(instance: Instance): Promise<void> {
    this.forget(bundleKey(instance.contentGuid, instance.bundleId), instance.key);
    await this.backend.stop(instance.key);
    await this.keys.release(instance.key);
  }

  stopBundle(contentGuid: string, bundleId: number): Promise<void> {
    return this.lock.run(bundleKey(contentGuid, bundleId), () => this.stopUnlocked(contentGuid, bundleId));
  }

  private async stopUnlocked(contentGuid: string, bundleId: number): Promise<void> {
    const id = bundleKey(contentGuid, bundleId);
    const all = this.instances.get(id) ?? [];
    this.instances.delete(id);
    for (const i of all) {
      await this.backend.stop(i.key);
      await this.keys.release(i.key);
    }
  }

  /** Stops every instance of a content item except the given bundle's, waiting out starts under way. */
  async stopContent(contentGuid: string, keepBundle?: number): Promise<void> {
    const ids = new Set([...this.instances.keys(), ...this.lock.keys()].filter((id) => id.startsWith(`${contentGuid}/`)));
    const bundles = [...ids].map((id) => Number(id.slice(contentGuid.length + 1))).filter((b) => b !== keepBundle);
    await Promise.all(bundles.map((b) => this.stopBundle(contentGuid, b)));
  }

  /**
   * Instances a backend kept running across a restart (containers): served again as they are.
   * Their process API keys were kept too; `revoke` ends one when its instance stops.
   */
  adopt(instances: Instance[], revoke: (key: string) => Promise<void>): void {
    for (const i of instances) {
      const id = bundleKey(i.contentGuid, i.bundleId);
      this.instances.set(id, [...(this.instances.get(id) ?? []), i]);
      this.keys.adopt(i, revoke);
    }
  }

  /** Resolves when every key revocation started so far is done (for shutdown). */
  settle(): Promise<void> {
    return this.keys.settle();
  }
}
