import path from 'node:path';
import { rCode, rscriptFor, R_PROCESS_ENV } from '../environments/r-scripts.ts';
import type { CommandSpec, RecipeContext } from './recipe.ts';

/** What every R content process gets: R_PROCESS_ENV and the restored environment (R_LIBS). */
function rEnv(ctx: RecipeContext): Record<string, string> {
  return { ...R_PROCESS_ENV, ...ctx.environment.env };
}

/**
 * `Rscript -e <code of runtimes/r/<scripts>.R> args...` in the bundle directory, with the
 * environment's R. Arguments after the code reach R as `commandArgs(TRUE)`.
 */
export function rscriptCommand(ctx: RecipeContext, scripts: string[], args: string[]): CommandSpec {
  return {
    argv: [rscriptFor(ctx.environment.executable || '/usr/bin/R'), '-e', rCode(...scripts), ...args],
    env: rEnv(ctx),
    cwd: ctx.bundleDir,
  };
}

/** The document a mode starts from: the validated primary file, else `metadata.primary_rmd`. */
export function primaryDocument(ctx: RecipeContext, mode: string): string {
  const p = ctx.primaryFile ?? ctx.manifest.metadata.primary_rmd ?? null;
  if (!p) throw new Error(`"${mode}" content needs a primary document (metadata.primary_rmd), and the bundle names none.`);
  return p.replace(/^(\.\/)+/, '');
}

/** The quarto binary: `QUARTO_PATH` from the environment the runner prepared, else `quarto` on PATH. */
export function quartoBinary(ctx: RecipeContext): string {
  return ctx.environment.env.QUARTO_PATH || 'quarto';
}

/** Quarto renders a project (`_quarto.yml`, or a "site") rather than one document. */
export function isQuartoProject(ctx: RecipeContext, primary: string): boolean {
  const base = path.posix.basename(primary);
  return base === '_quarto.yml' || base === '_quarto.yaml' || ctx.manifest.metadata.content_category === 'site';
}

// Quarto writes next to its input (`.quarto/`, `<doc>_files/`, freeze data), and the bundle
// may be read-only: copy it to a private temporary directory first. `$@` is the command; a
// render removes the copy when it ends.
const COPY = 'set -e; work=$(mktemp -d "${TMPDIR:-/tmp}/lectern-work-XXXXXX"); cp -R . "$work"; chmod -R u+w "$work"; cd "$work"; ';
const EXEC = `${COPY}exec "$@"`;

// Quarto's `format: email` writes `.output_metadata.json` into the project's output directory,
// which is ours, or, for a lone document, next to the document: in the copy, about to go. That
// one is moved into the output (`$1`: the document's directory in the copy, `$2`: the output).
const KEEP_METADATA =
  'doc=$1; out=$2; shift 2; ' +
  `${COPY}set +e; "$@"; status=$?; ` +
  'if [ $status -eq 0 ] && [ -f "$doc/.output_metadata.json" ] && [ ! -e "$out/.output_metadata.json" ]; then mv -f "$doc/.output_metadata.json" "$out/"; fi; ' +
  'cd /; rm -rf "$work"; exit $status';

function quartoEnv(ctx: RecipeContext): Record<string, string> {
  const env: Record<string, string> = { ...rEnv(ctx) };
  // Quarto's knitr engine runs the environment's R (QUARTO_R may name Rscript itself).
  if (ctx.environment.executable) env.QUARTO_R = rscriptFor(ctx.environment.executable);
  return env;
}

/** Serves `command` from a writable copy of the bundle (`/bin/sh -c`, replaced by the command). */
export function serveFromWritableCopy(ctx: RecipeContext, command: string[]): CommandSpec {
  return { argv: ['/bin/sh', '-c', EXEC, 'lectern-quarto', ...command], env: quartoEnv(ctx), cwd: ctx.bundleDir };
}

/**
 * Renders `command` from a writable copy of the bundle, then moves the `.output_metadata.json`
 * Quarto left beside `document` (relative to the bundle) into `outputDir`, unless the output
 * has one already.
 */
export function renderInWritableCopy(ctx: RecipeContext, command: string[], document: string, outputDir: string): CommandSpec {
  const docDir = path.posix.dirname(document);
  return { argv: ['/bin/sh', '-c', KEEP_METADATA, 'lectern-quarto', docDir, outputDir, ...command], env: quartoEnv(ctx), cwd: ctx.bundleDir };
}
