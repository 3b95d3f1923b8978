import { lstatSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ProcessVariables } from '../../src/domain/deploy.ts';
import type { RenderedRecipe } from '../app-modes/recipe.ts';
import type { PreparedEnvironments } from '../prepared-environments.ts';
import { limitsOf, type BundleRun, type RecipeBook } from '../recipe-book.ts';
import type { RuntimeBackend } from '../backend.ts';
import { takeOutputMetadata } from './output-metadata.ts';
import { keepRegularFiles, sealOutput } from './render-output.ts';
import { checkReportEnv } from './report-env.ts';
import { newestRender, newRenderKey, renderDirOf, rendersOf, type RenderVariant } from './render-paths.ts';
import { pruneRenders, type KeepRenders } from './render-prune.ts';
import type { Freed } from '../../src/domain/retention.ts';

export type { RenderVariant };

export interface RendererOptions {
  rendersDir: string;
  renderTimeoutSeconds: number;
  /** The account of an item its render output must be writable by (when sandboxed as root). */
  outputOwner: ((contentGuid: string) => { uid: number; gid: number }) | null;
}

/** What to render: a content item and its active (or deployed) bundle. */
export type RenderItem = BundleRun;

/** A finished render: its job, the published directory, and the document served as its index. */
export interface Rendered {
  jobKey: string;
  outputDir: string;
  /** `outputDir` relative to the renders directory (what a rendering keeps). */
  outputPath: string;
  outputFile: string;
  /** The document's `.output_metadata.json` (R Markdown, Quarto), parsed; null without one, and for other modes. */
  metadata: unknown;
}

/**
 * The rendering side: runs a rendered bundle's command into a private output directory, keeps
 * only regular files, seals it as the server's, and publishes it under
 * `<renders>/<guid>/<bundle>/<job>/` (the newest is served). Knows nothing of schedules.
 */
export class Renderer {
  constructor(
    private readonly backend: RuntimeBackend,
    private readonly processEnv: ProcessVariables,
    private readonly recipes: RecipeBook,
    private readonly environments: PreparedEnvironments,
    private readonly o: RendererOptions,
  ) {}

  private renderedRecipe(mode: string): RenderedRecipe {
    const r = this.recipes.recipe(mode);
    if (r.kind !== 'rendered') throw new Error(`${mode} content is not rendered.`);
    return r;
  }

  /**
   * Renders `item` now. `variant` null lands where the deploy's renders land; `params` reach
   * the recipe's context; `reportEnv` (RSC_REPORT_* and the like, checkReportEnv) is added to
   * the process's variables. Throws with a reason the publisher can read (a timeout, an exit
   * code, a missing output, a variable a report may not set); the output lines go to `log`.
   */
  async render(
    item: RenderItem,
    variant: RenderVariant,
    params: Record<string, unknown>,
    log: (line: string) => void = () => undefined,
    reportEnv: Readonly<Record<string, string>> = {},
  ): Promise<Rendered> {
    const r = this.renderedRecipe(item.appMode);
    const extraEnv = checkReportEnv(reportEnv);
    const renders = rendersOf(this.o.rendersDir, item.contentGuid, item.bundleId, variant);
    const prepared = await this.environments.prepare(item, r, log);
    const key = newRenderKey();
    const out = path.join(renders, `${key}.partial`);
    // Private from the start (renders/, the item's and the bundle's directories too); only the
    // content account may write the output while the render runs (it sees it bind-mounted).
    await mkdir(out, { recursive: true, mode: 0o700 });
    await chmod(out, 0o700);
    const owner = this.o.outputOwner?.(item.contentGuid);
    if (owner) await chown(out, owner.uid, owner.gid);
    const cmd = r.command(this.recipes.context(item, prepared, { host: '127.0.0.1', port: 0 }, out, Object.keys(params).length ? params : undefined));
    const { env, release } = await this.processEnv.forContent(item.contentGuid, key);
    try {
      log(`Rendering ${item.primaryFile ?? ''} as job ${key}...`);
      const res = await this.backend.run({
        key,
        contentGuid: item.contentGuid,
        bundleId: item.bundleId,
        command: { argv: cmd.argv, env: cmd.env, cwd: cmd.cwd },
        mounts: { bundleDir: item.bundleDir, envDir: prepared.environment.dir, outputDir: out },
        // The report's after the process's: its names cannot be CONNECT_* (checkReportEnv).
        env: { ...env, ...extraEnv },
        limits: limitsOf(item.settings),
        timeoutMs: this.o.renderTimeoutSeconds * 1000,
        log,
      });
      if (res.timedOut) throw new Error(`The render did not finish within ${this.o.renderTimeoutSeconds} s and was stopped.`);
      if (res.exitCode !== 0) throw new Error(`The render failed with exit code ${res.exitCode}; see the output above.`);
      const files = await readdir(out);
      if (!files.includes(cmd.output)) throw new Error(`The render finished but wrote no ${cmd.output}.`);
      await keepRegularFiles(out, log);
      await sealOutput(out);
      if (owner) await chown(out, 0, 0);
      const metadata = await takeOutputMetadata(out, r.outputMetadata === true, log);
      const published = path.join(renders, key);
      await rename(out, published);
      log(`Rendered ${cmd.output}.`);
      return { jobKey: key, outputDir: published, outputPath: path.relative(this.o.rendersDir, published), outputFile: cmd.output, metadata };
    } catch (err) {
      await rm(out, { recursive: true, force: true });
      throw err;
    } finally {
      await release();
    }
  }

  /**
   * The directory of a finished render, from its `outputPath` (see Rendered); null unless it is
   * one of the renders directory's layout (never absolute, `..` or `.partial`) and exists as a
   * directory.
   */
  publishedDir(outputPath: string): string | null {
    const dir = renderDirOf(this.o.rendersDir, outputPath);
    return dir !== null && lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() ? dir : null;
  }

  /** Removes a finished render (a pruned rendering's); done already is fine. Throws for a path that is not a render's. */
  async discard(outputPath: string): Promise<void> {
    const dir = renderDirOf(this.o.rendersDir, outputPath);
    if (dir === null) throw new Error(`${JSON.stringify(outputPath)} is not a render's output directory.`);
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * The daily prune's sweep of the renders directory (render-prune.ts): what `keep` refuses,
   * and `.partial` renders older than the render timeout and an hour (their server died).
   */
  prune(now: Date, keep: KeepRenders): Promise<Freed> {
    return pruneRenders(this.o.rendersDir, keep, new Date(now.getTime() - this.o.renderTimeoutSeconds * 1000 - 3600_000));
  }

  /** The newest render of a bundle (of the default variant unless one is named), or null if it has none. */
  renderDir(contentGuid: string, bundleId: number, variant: RenderVariant = null): Promise<string | null> {
    return newestRender(rendersOf(this.o.rendersDir, contentGuid, bundleId, variant));
  }
}
