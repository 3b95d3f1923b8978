import type { RunSettings } from '../src/domain/deploy.ts';
import type { Manifest } from '../src/domain/manifest.ts';
import { recipeFor } from './app-modes/index.ts';
import type { AppModeRecipe, RecipeContext } from './app-modes/recipe.ts';
import type { Limits, Prepared } from './backend.ts';

/** A content item's bundle as the runner runs it: what serving and rendering both start from. */
export interface BundleRun {
  contentGuid: string;
  bundleId: number;
  appMode: string;
  primaryFile: string | null;
  bundleDir: string;
  manifest: Manifest;
  settings: RunSettings;
}

/** The public path content is reached at, with a trailing slash. */
export function basePath(guid: string): string {
  return `/content/${guid}/`;
}

export function limitsOf(s: RunSettings): Limits {
  return { memoryBytes: s.memoryLimit || null, cpus: s.cpuLimit || null };
}

/**
 * The app-mode recipes as this server can run them: a mode it has no recipe for, or a Quarto
 * mode without a configured Quarto, is refused with the reason. Shared by serving and rendering.
 */
export class RecipeBook {
  constructor(private readonly quartoPath: string | undefined) {}

  recipe(mode: string): AppModeRecipe {
    const r = recipeFor(mode);
    if (!r) throw new Error(`This server cannot run "${mode}" content.`);
    if (r.needsQuarto && !this.quartoPath) {
      throw new Error(
        `"${mode}" content needs Quarto, which is not configured on this server: install it (https://quarto.org) and set LECTERN_QUARTO to the quarto binary.`,
      );
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

  /** What a recipe's command is built from. */
  context(req: BundleRun, prepared: Prepared, listen: { host: string; port: number }, outputDir: string, params?: Record<string, unknown>): RecipeContext {
    // Quarto recipes find the configured binary here.
    const environment = this.quartoPath
      ? { ...prepared.environment, env: { ...prepared.environment.env, QUARTO_PATH: this.quartoPath } }
      : prepared.environment;
    const ctx: RecipeContext = {
      bundleDir: req.bundleDir,
      primaryFile: req.primaryFile,
      manifest: req.manifest,
      environment,
      host: listen.host,
      port: listen.port,
      basePath: basePath(req.contentGuid),
      outputDir,
    };
    return params ? { ...ctx, params } : ctx;
  }
}
