import type { Manifest } from '../../src/domain/manifest.ts';
import type { BundleFiles } from './bundle-files.ts';
import type { RestoredEnvironment } from '../environments/environment.ts';

export interface RecipeContext {
  /** The extracted bundle: the working directory. */
  bundleDir: string;
  primaryFile: string | null;
  manifest: Manifest;
  environment: RestoredEnvironment;
  /** Served apps listen here. */
  host: string;
  port: number;
  /**
   * The public path the app is reached at, with a trailing slash: `/content/<guid>/`.
   * Vanity paths reach the same process with the proxy's `X-Lectern-Base-Path` header.
   */
  basePath: string;
  /** Rendered modes write their output here (an empty directory). */
  outputDir: string;
  /** A variant's render parameters (rmd-static reads them); none at deploy: the document's defaults. */
  params?: Record<string, unknown>;
}

export interface CommandSpec {
  argv: string[];
  /** Added to the sandbox's base environment. */
  env: Record<string, string>;
  cwd: string;
}

/** What every app mode has, runnable or not: its name and the check of an uploaded bundle. */
export interface AppModeCheck {
  mode: string;
  /**
   * Checks at upload that the bundle can be this mode, and returns the file the mode starts
   * from (null when it has none). Throws `bundle.missing(...)` to refuse the upload.
   */
  validate(bundle: BundleFiles): string | null;
}

interface RecipeBase extends AppModeCheck {
  /** What must be installed to run it. */
  language: 'r' | 'python' | 'none';
  /** Quarto content needs a configured `quarto` binary. */
  needsQuarto?: boolean;
}

export interface ServedRecipe extends RecipeBase {
  kind: 'served';
  command(ctx: RecipeContext): CommandSpec;
  /** Any HTTP answer on this path (relative, after the base path) means the app is up. */
  readinessPath: string;
  /**
   * `stripped`: the proxy sends paths with the base path removed (most frameworks);
   * `full`: the app is configured with the base path and expects it in every request path.
   */
  pathMode: 'stripped' | 'full';
}

export interface RenderedRecipe extends RecipeBase {
  kind: 'rendered';
  /**
   * The render may leave `.output_metadata.json` in its output (R Markdown's wrapper, Quarto's
   * `format: email`): the runner reads it as the render's metadata. Others' is only removed.
   */
  outputMetadata?: boolean;
  /** The command renders into ctx.outputDir; `output` names the document to serve as the index. */
  command(ctx: RecipeContext): CommandSpec & { output: string };
}

export interface StaticRecipe extends RecipeBase {
  kind: 'static';
}

/** A mode this server runs; its `kind` is what the API and the proxy ask (appModeKinds). */
export type AppModeRecipe = ServedRecipe | RenderedRecipe | StaticRecipe;
