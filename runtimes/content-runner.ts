import { randomBytes } from 'node:crypto';
import { chmod, chown, lchown, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildRequest, ProcessEnvironment, RunSettings } from '../src/domain/deploy.ts';
import type { Manifest } from '../src/domain/manifest.ts';
import { recipeFor } from './app-modes/index.ts';
import type { AppModeRecipe, RecipeContext, ServedRecipe } from './app-modes/recipe.ts';
import { ProcessKeys } from './process-keys.ts';
import type { Instance, Limits, Prepared, RuntimeBackend } from './backend.ts';

export interface RunnerOptions {
  rendersDir: string;
  quartoPath: string | undefined;
  defaults: { initTimeoutSeconds: number; renderTimeoutSeconds: number; pythonManaged: boolean; rManaged: boolean };
  /** The account of an item its render output must be writable by (when sandboxed as root). */
  outputOwner: ((contentGuid: string) => { uid: number; gid: number }) | null;
}

/** What the proxy needs to start a served bundle on demand. */
export interface ServeRequest {
  contentGuid: string;
  bundleId: number;
  appMode: string;
  primaryFile: string | null;
  bundleDir: string;
  manifest: Manifest;
  settings: RunSettings;
}

export interface Served {
  instance: Instance;
  recipe: ServedRecipe;
}

interface Backoff {
  failures: number;
  until: number;
}

const CRASH_WINDOW_MS = 60_000;
const MAX_BACKOFF_MS = 60_000;

/**
 * A render runs as the content's account and could leave a symlink to `/srv/lectern/secret.key`
 * in its output, which Lectern (root) would then serve. Only regular files and directories
 * stay; anything else is removed before the output is published.
 */
async function keepRegularFiles(dir: string, log: (l: string) => void): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) await keepRegularFiles(p, log);
    else if (!st.isFile()) {
      await rm(p, { force: true });
      log(`Removed ${path.relative(dir, p) || name} from the output: only regular files are published.`);
    }
  }
}

/**
 * Published output is the server's alone: every directory 0700 and file 0600, owned by the
 * server (not by the content account, which must not read or change it once it is published,
 * nor any other local account). Directories are taken before what is in them; links are gone
 * already (keepRegularFiles), and the render's processes with them.
 */
async function sealOutput(dir: string): Promise<void> {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const take = async (p: string, mode: number) => {
    if (uid === 0 && gid !== undefined) await lchown(p, uid, gid);
    await chmod(p, mode);
  };
  await take(dir, 0o700);
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) await sealOutput(p);
    else if (st.isFile()) await take(p, 0o600);
  }
}

export class ContentUnavailable extends Error {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

function limitsOf(s: RunSettings): Limits {
  return { memoryBytes: s.memoryLimit || null, cpus: s.cpuLimit || null };
}

function basePath(guid: string) {
  return `/content/${guid}/`;
}

/**
 * Runs content through a backend, one recipe per app mode: renders at deploy, starts served
 * apps (at deploy to prove they start, later on demand), keeps the running instances of each
 * bundle for the proxy's pool (which decides how many), and backs off when an app keeps
 * crashing.
 */
export class ContentRunner {
  private readonly instances = new Map<string, Instance[]>();
  private readonly prepared = new Map<string, Promise<Prepared>>();
  private readonly backoff = new Map<string, Backoff>();
  // One start, build or stop of a bundle at a time: a stop that arrives during a cold start
  // waits for it and then stops what it started, and two cold starts make one instance.
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly keys: ProcessKeys;

  constructor(
    private readonly backend: RuntimeBackend,
    processEnv: ProcessEnvironment,
    private readonly o: RunnerOptions,
  ) {
    this.keys = new ProcessKeys(processEnv, !!backend.sharesEnvironment);
    backend.onExit((instance, _code, stopped) => {
      void this.keys.release(instance.key);
      const id = `${instance.contentGuid}/${instance.bundleId}`;
      this.forget(id, instance.key);
      // An app that dies by itself soon after starting is crash-looping: wait longer each time.
      const lived = Date.now() - instance.startedAt.getTime();
      if (lived >= CRASH_WINDOW_MS) this.backoff.delete(id);
      if (!stopped && lived < CRASH_WINDOW_MS) {
        const b = this.backoff.get(id) ?? { failures: 0, until: 0 };
        b.failures++;
        b.until = Date.now() + Math.min(1000 * 2 ** (b.failures - 1), MAX_BACKOFF_MS);
        this.backoff.set(id, b);
      }
    });
  }

  private forget(id: string, key: string) {
    const left = (this.instances.get(id) ?? []).filter((i) => i.key !== key);
    if (left.length) this.instances.set(id, left);
    else this.instances.delete(id);
  }

  /** The running instances of a bundle, oldest first. */
  instancesOf(contentGuid: string, bundleId: number): Instance[] {
    return this.instances.get(`${contentGuid}/${bundleId}`) ?? [];
  }

  recipe(mode: string): AppModeRecipe {
    const r = recipeFor(mode);
    if (!r) throw new Error(`This server cannot run "${mode}" content.`);
    if (r.needsQuarto && !this.o.quartoPath) {
      throw new Error(`"${mode}" content needs Quarto, which is not configured on this server: install it (https://quarto.org) and set LECTERN_QUARTO to the quarto binary.`);
    }
    return r;
  }

  /** True for app modes this server runs as processes that take requests. */
  serves(mode: string): boolean {
    try {
      return this.recipe(mode).kind === 'served';
    } catch {
      return false;
    }
  }

  private managed(r: AppModeRecipe, manifest: Manifest, s: RunSettings): boolean {
    const lang = r.language === 'python' ? 'python' : 'r';
    const fromBundle = manifest.environment?.environment_management?.[lang];
    if (typeof fromBundle === 'boolean') return fromBundle;
    const fromContent = lang === 'python' ? s.pythonEnvironmentManagement : s.rEnvironmentManagement;
    if (typeof fromContent === 'boolean') return fromContent;
    return lang === 'python' ? this.o.defaults.pythonManaged : this.o.defaults.rManaged;
  }

  private prepare(req: ServeRequest | BuildRequest, r: AppModeRecipe, log: (l: string) => void): Promise<Prepared> {
    const id = `${req.contentGuid}/${req.bundleId}`;
    let p = this.prepared.get(id);
    if (!p) {
      const managed = r.language === 'none' ? true : this.managed(r, req.manifest, req.settings);
      const imageName = req.settings.imageName ?? req.manifest.environment?.image ?? null;
      p = this.backend.prepare({ ...req, language: r.language, managed, imageName, log });
      this.prepared.set(id, p);
      p.catch(() => this.prepared.delete(id));
    }
    return p;
  }

  private context(req: ServeRequest | BuildRequest, prepared: Prepared, listen: { host: string; port: number }, outputDir: string): RecipeContext {
    // Quarto recipes find the configured binary here.
    const environment = this.o.quartoPath ? { ...prepared.environment, env: { ...prepared.environment.env, QUARTO_PATH: this.o.quartoPath } } : prepared.environment;
    return { bundleDir: req.bundleDir, primaryFile: req.primaryFile, manifest: req.manifest, environment, host: listen.host, port: listen.port, basePath: basePath(req.contentGuid), outputDir };
  }

  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }

  /** The deploy's build step: render, or start the app once to prove it runs. */
  build(req: BuildRequest): Promise<void> {
    return this.withLock(`${req.contentGuid}/${req.bundleId}`, () => this.buildUnlocked(req));
  }

  private async buildUnlocked(req: BuildRequest): Promise<void> {
    const r = this.recipe(req.appMode);
    if (r.kind === 'static') {
      req.log('Static content: nothing to build; the files are served as uploaded.');
      return;
    }
    this.prepared.delete(`${req.contentGuid}/${req.bundleId}`);
    const prepared = await this.prepare(req, r, req.log);
    if (r.kind === 'rendered') {
      await this.render(req, r, prepared, req.log);
      return;
    }
    await this.stopUnlocked(req.contentGuid, req.bundleId);
    this.backoff.delete(`${req.contentGuid}/${req.bundleId}`);
    req.log('Starting the app to check that it runs...');
    const served = await this.startServed(req, r, prepared, 'deploy');
    req.log(`The app answered on ${served.instance.target} as job ${served.instance.key}.`);
  }

  private async render(req: BuildRequest, r: Extract<AppModeRecipe, { kind: 'rendered' }>, prepared: Prepared, log: (l: string) => void) {
    const key = `render-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const bundleRenders = path.join(this.o.rendersDir, req.contentGuid, String(req.bundleId));
    const out = path.join(bundleRenders, `${key}.partial`);
    // Private from the start (renders/, the item's and the bundle's directories too); only the
    // content account may write the output while the render runs (it sees it bind-mounted).
    await mkdir(out, { recursive: true, mode: 0o700 });
    await chmod(out, 0o700);
    const owner = this.o.outputOwner?.(req.contentGuid);
    if (owner) await chown(out, owner.uid, owner.gid);
    const cmd = r.command(this.context(req, prepared, { host: '127.0.0.1', port: 0 }, out));
    const { env, release } = await this.keys.forJob(req.contentGuid, key);
    try {
      log(`Rendering ${req.primaryFile ?? ''} as job ${key}...`);
      const res = await this.backend.run({
        key,
        contentGuid: req.contentGuid,
        bundleId: req.bundleId,
        command: { argv: cmd.argv, env: cmd.env, cwd: cmd.cwd },
        mounts: { bundleDir: req.bundleDir, envDir: prepared.environment.dir, outputDir: out },
        env,
        limits: limitsOf(req.settings),
        timeoutMs: this.o.defaults.renderTimeoutSeconds * 1000,
        log,
      });
      if (res.timedOut) throw new Error(`The render did not finish within ${this.o.defaults.renderTimeoutSeconds} s and was stopped.`);
      if (res.exitCode !== 0) throw new Error(`The render failed with exit code ${res.exitCode}; see the output above.`);
      const files = await readdir(out);
      if (!files.includes(cmd.output)) throw new Error(`The render finished but wrote no ${cmd.output}.`);
      await keepRegularFiles(out, log);
      await sealOutput(out);
      if (owner) await chown(out, 0, 0);
      await rename(out, path.join(bundleRenders, key));
      log(`Rendered ${cmd.output}.`);
    } catch (err) {
      await rm(out, { recursive: true, force: true });
      throw err;
    } finally {
      await release();
    }
  }

  /** The newest render of a bundle, or null if it has none. */
  async renderDir(contentGuid: string, bundleId: number): Promise<string | null> {
    const dir = path.join(this.o.rendersDir, contentGuid, String(bundleId));
    let names: string[] = [];
    try {
      names = (await readdir(dir)).filter((n) => !n.endsWith('.partial')).sort();
    } catch {
      return null;
    }
    const newest = names[names.length - 1];
    return newest ? path.join(dir, newest) : null;
  }

  private async startServed(req: ServeRequest | BuildRequest, r: ServedRecipe, prepared: Prepared, tag: string): Promise<Served> {
    const listen = await this.backend.listenAddress();
    const key = `${tag === 'deploy' ? 'd' : 'p'}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const cmd = r.command(this.context(req, prepared, listen, ''));
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
        initTimeoutMs: (req.settings.initTimeoutSeconds ?? this.o.defaults.initTimeoutSeconds) * 1000,
      });
      const id = `${req.contentGuid}/${req.bundleId}`;
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
    const id = `${req.contentGuid}/${req.bundleId}`;
    const r = this.recipe(req.appMode);
    if (r.kind !== 'served') throw new Error(`${req.appMode} content is not a served app.`);
    const running = this.instances.get(id)?.[0];
    if (running) return { instance: running, recipe: r };
    this.checkBackoff(id);
    return this.withLock(id, async () => {
      // Another request may have started it while this one waited.
      const started = this.instances.get(id)?.[0];
      if (started) return { instance: started, recipe: r };
      const prepared = await this.prepare(req, r, () => undefined);
      return this.startServed(req, r, prepared, 'request');
    });
  }

  private checkBackoff(id: string) {
    const b = this.backoff.get(id);
    if (b && b.until > Date.now()) {
      throw new ContentUnavailable('The app keeps exiting soon after it starts; Lectern waits before trying again. Its logs say why.', Math.ceil((b.until - Date.now()) / 1000));
    }
  }

  /** One more instance of a served bundle (the pool decided it needs one). */
  async launch(req: ServeRequest): Promise<Served> {
    const id = `${req.contentGuid}/${req.bundleId}`;
    const r = this.recipe(req.appMode);
    if (r.kind !== 'served') throw new Error(`${req.appMode} content is not a served app.`);
    this.checkBackoff(id);
    return this.withLock(id, async () => this.startServed(req, r, await this.prepare(req, r, () => undefined), 'request'));
  }

  /** Stops one instance (idle, or drained). */
  async stopInstance(instance: Instance): Promise<void> {
    this.forget(`${instance.contentGuid}/${instance.bundleId}`, instance.key);
    await this.backend.stop(instance.key);
    await this.keys.release(instance.key);
  }

  stopBundle(contentGuid: string, bundleId: number): Promise<void> {
    return this.withLock(`${contentGuid}/${bundleId}`, () => this.stopUnlocked(contentGuid, bundleId));
  }

  private async stopUnlocked(contentGuid: string, bundleId: number): Promise<void> {
    const id = `${contentGuid}/${bundleId}`;
    const all = this.instances.get(id) ?? [];
    this.instances.delete(id);
    for (const i of all) {
      await this.backend.stop(i.key);
      await this.keys.release(i.key);
    }
  }

  /** Resolves when every key revocation started so far is done (for shutdown). */
  settle(): Promise<void> {
    return this.keys.settle();
  }

  /** Stops every instance of a content item except the given bundle's, waiting out starts under way. */
  async stopContent(contentGuid: string, keepBundle?: number): Promise<void> {
    const ids = new Set([...this.instances.keys(), ...this.locks.keys()].filter((id) => id.startsWith(`${contentGuid}/`)));
    const bundles = [...ids].map((id) => Number(id.slice(contentGuid.length + 1))).filter((b) => b !== keepBundle);
    await Promise.all(bundles.map((b) => this.stopBundle(contentGuid, b)));
  }

  /**
   * Instances a backend kept running across a restart (containers): served again as they are.
   * Their process API keys were kept too; `revoke` ends one when its instance stops.
   */
  adopt(instances: Instance[], revoke: (key: string) => Promise<void>): void {
    for (const i of instances) {
      const id = `${i.contentGuid}/${i.bundleId}`;
      this.instances.set(id, [...(this.instances.get(id) ?? []), i]);
      this.keys.adopt(i, revoke);
    }
  }

  /** A bundle was deleted (null: the whole content item): stop it and free what the backend kept for it. */
  async discard(contentGuid: string, bundleId: number | null): Promise<void> {
    if (bundleId === null) await this.stopContent(contentGuid);
    else await this.stopBundle(contentGuid, bundleId);
    if (bundleId !== null) this.prepared.delete(`${contentGuid}/${bundleId}`);
    else for (const id of [...this.prepared.keys()]) if (id.startsWith(`${contentGuid}/`)) this.prepared.delete(id);
    await this.backend.discard(contentGuid, bundleId);
  }

  running(): Instance[] {
    return [...this.instances.values()].flat();
  }
}
