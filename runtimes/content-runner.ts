import type { ProcessVariables } from '../src/domain/deploy.ts';
import type { AppModeRecipe } from './app-modes/recipe.ts';
import { PreparedEnvironments } from './prepared-environments.ts';
import { RecipeBook } from './recipe-book.ts';
import { Renderer, type RendererOptions } from './rendering/renderer.ts';
import type { Instance, RuntimeBackend } from './backend.ts';
import { InstanceRunner, type Served, type ServeRequest } from './serving/instance-runner.ts';

export { ContentUnavailable } from './serving/crash-backoff.ts';
export type { Served, ServeRequest };

export interface RunnerOptions {
  rendersDir: string;
  quartoPath: string | undefined;
  defaults: { initTimeoutSeconds: number; renderTimeoutSeconds: number; pythonManaged: boolean; rManaged: boolean };
  outputOwner: RendererOptions['outputOwner'];
}

/**
 * Content run through one backend: the serving side (instances for the proxy's pool) and the
 * rendering side, over the recipes and the per-bundle environments they share. This is what
 * the server holds (`Runtime.runner`) and what start-up hands the adopted instances to;
 * it only wires the parts and forwards to them, so callers keep one object.
 */
export class ContentRunner {
  readonly recipes: RecipeBook;
  readonly environments: PreparedEnvironments;
  readonly serving: InstanceRunner;
  readonly rendering: Renderer;

  constructor(
    private readonly backend: RuntimeBackend,
    processEnv: ProcessVariables,
    o: RunnerOptions,
  ) {
    this.recipes = new RecipeBook(o.quartoPath);
    this.environments = new PreparedEnvironments(backend, o.defaults);
    this.serving = new InstanceRunner(backend, processEnv, this.recipes, this.environments, o.defaults.initTimeoutSeconds);
    this.rendering = new Renderer(backend, processEnv, this.recipes, this.environments, {
      rendersDir: o.rendersDir,
      renderTimeoutSeconds: o.defaults.renderTimeoutSeconds,
      outputOwner: o.outputOwner,
    });
  }

  recipe(mode: string): AppModeRecipe {
    return this.recipes.recipe(mode);
  }

  /** True for app modes this server runs as processes that take requests. */
  serves(mode: string): boolean {
    return this.recipes.serves(mode);
  }

  /** The newest render of a bundle, or null if it has none. */
  renderDir(contentGuid: string, bundleId: number): Promise<string | null> {
    return this.rendering.renderDir(contentGuid, bundleId);
  }

  instancesOf(contentGuid: string, bundleId: number): Instance[] {
    return this.serving.instancesOf(contentGuid, bundleId);
  }

  running(): Instance[] {
    return this.serving.running();
  }

  serve(req: ServeRequest): Promise<Served> {
    return this.serving.serve(req);
  }

  launch(req: ServeRequest): Promise<Served> {
    return this.serving.launch(req);
  }

  stopInstance(instance: Instance): Promise<void> {
    return this.serving.stopInstance(instance);
  }

  stopContent(contentGuid: string, keepBundle?: number): Promise<void> {
    return this.serving.stopContent(contentGuid, keepBundle);
  }

  adopt(instances: Instance[], revoke: (key: string) => Promise<void>): void {
    this.serving.adopt(instances, revoke);
  }

  /** Resolves when every key revocation started so far is done (for shutdown). */
  settle(): Promise<void> {
    return this.serving.settle();
  }

  /** A bundle was deleted (null: the whole content item): stop it and free what the backend kept for it. */
  async discard(contentGuid: string, bundleId: number | null): Promise<void> {
    if (bundleId === null) await this.serving.stopContent(contentGuid);
    else await this.serving.stopBundle(contentGuid, bundleId);
    this.environments.forget(contentGuid, bundleId);
    await this.backend.discard(contentGuid, bundleId);
  }
}
