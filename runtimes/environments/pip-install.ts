import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seconds, tail, type Exec, type RunResult } from './install-area.ts';
import type { PythonRestorerOptions } from './python-options.ts';
import {
  diagnosePip,
  normalizeName,
  normalizeRequirements,
  requirementName,
  withoutRequirements,
  type MissingRequirement,
  type PipDiagnosis,
} from './python-requirements.ts';

// pip, run into a built venv: its command line, and what its failure means to the publisher.

const INDEX_SETTING = 'server setting runtime.pythonIndexUrl, LECTERN_PYTHON_INDEX_URL';
// Rechecks after a failure, to name every unsatisfiable requirement rather than pip's first.
const RECHECK_LIMIT = 10;
const RECHECK_BUDGET_MS = 60_000;

/** `pip install` for a build log: no prompts, colours, progress bars or self-update checks. */
export const PIP_INSTALL_QUIETLY = [
  '-m',
  'pip',
  'install',
  '--no-input',
  '--disable-pip-version-check',
  '--no-color',
  '--progress-bar',
  'off',
  '--no-warn-script-location',
] as const;

export function pipArgs(
  opts: PythonRestorerOptions,
  extra: readonly string[],
  cacheDir: string,
  requirementsFile: string,
  overrides: { timeout?: number; retries?: number; dryRun?: boolean } = {},
): string[] {
  return [
    ...PIP_INSTALL_QUIETLY,
    '--timeout',
    String(overrides.timeout ?? opts.networkTimeoutSeconds ?? 30),
    '--retries',
    String(overrides.retries ?? opts.retries ?? 2),
    '--cache-dir',
    cacheDir,
    '--index-url',
    opts.indexUrl,
    ...extra.flatMap((u) => ['--extra-index-url', u]),
    ...(opts.binaryOnly ? ['--only-binary=:all:'] : []),
    ...(overrides.dryRun ? ['--dry-run'] : []),
    '-r',
    requirementsFile,
  ];
}

export async function pipInstall(python: string, args: string[], exec: Exec, timeoutMs: number, log: (line: string) => void): Promise<RunResult> {
  const result = await exec(python, args, timeoutMs, log);
  if (result.code !== 0 && result.lines.some((l) => /No module named pip\b/.test(l))) {
    // An interpreter without a system pip: give the venv its own, once.
    log('pip is not installed for this interpreter; installing it into the environment with ensurepip');
    const ensure = await exec(python, ['-m', 'ensurepip', '--default-pip'], 300_000, log);
    if (ensure.code !== 0) {
      throw new Error(`pip is not available for ${python}: install the Debian packages python3-pip and python3-venv (or pip for this interpreter).`);
    }
    return exec(python, args, timeoutMs, log);
  }
  return result;
}

/** What a failed install's diagnosis needs to ask pip again. */
export interface PipContext {
  opts: PythonRestorerOptions;
  extra: readonly string[];
  python: string;
  exec: Exec;
  /** Where the server writes files the installer reads. */
  inputs: string;
  cacheDir: string;
  /** The bundle's name for its requirements file, for messages. */
  requirementsName: string;
}

/** Turns a failed `pip install` into an error that says what is missing and how to fix it. */
export async function installFailure(ctx: PipContext, requirementsText: string, result: RunResult): Promise<Error> {
  const { opts, extra, python, exec } = ctx;
  const indexes = [opts.indexUrl, ...extra];
  const where = indexes.length > 1 ? `the package indexes ${indexes.join(', ')}` : `the package index ${opts.indexUrl}`;
  const reqName = ctx.requirementsName;
  const managementOff = `or deploy with Python environment management off to use the packages installed on the server`;
  if (result.timedOut) {
    return new Error(
      `Installing the Python requirements did not finish within ${seconds(opts.installTimeoutMs ?? 20 * 60_000)} (pip was stopped). A slow or unreachable ${where.replace(/^the /, '')} is the usual cause; check it, ${managementOff}.`,
    );
  }
  const diag = diagnosePip(result.lines);

  if (diag.conflicts.length > 0) {
    return new Error(
      `The bundle's Python requirements cannot be installed together (pip could not resolve them from ${where}):\n` +
        diag.conflicts.map((l) => `  ${l}`).join('\n') +
        `\nTo fix it: change the pins in ${reqName} so they agree (or make versions that agree available in ${where}, ${INDEX_SETTING}), ${managementOff}.`,
    );
  }

  if (diag.missing.length > 0) {
    const missing = await recheckMissing(ctx, requirementsText, diag);
    let network = diag.network[0] ? networkReason(diag.network[0]) : null;
    if (!network) network = await unreachable(python, exec, opts.indexUrl);
    const list = missing.map((m) => `  - ${describeMissing(m, !network)}`).join('\n');
    if (network) {
      return new Error(
        `Could not install the bundle's Python requirements: ${where} cannot be reached from this server (${network}).\n` +
          `These requirements are not satisfied by the packages installed on the server and need the index:\n${list}\n` +
          `To fix it: point the server at a package index it can reach (${INDEX_SETTING}; a local mirror works), let the server reach ${opts.indexUrl}, ` +
          `change the pins to versions the server has, ${managementOff}.`,
      );
    }
    return new Error(
      `Could not install the bundle's Python requirements: ${where} has nothing that satisfies:\n${list}\n` +
        `To fix it: make these available in the package index ${opts.indexUrl} (${INDEX_SETTING}), change the pins in ${reqName}, ${managementOff}.`,
    );
  }

  if (diag.network.length > 0) {
    return new Error(
      `Could not install the bundle's Python requirements: ${where} cannot be reached from this server (${networkReason(diag.network[0] ?? '')}).\n` +
        `To fix it: point the server at a package index it can reach (${INDEX_SETTING}), let the server reach ${opts.indexUrl}, ${managementOff}.`,
    );
  }

  if (diag.buildFailures.length > 0) {
    return new Error(
      `Could not build these Python packages from source: ${diag.buildFailures.join(', ')}. ` +
        `To fix it: make wheels for them available in ${where} (${INDEX_SETTING}), pin versions that have wheels for Python on this server, ${managementOff}. pip said:\n${tail(result.lines, 15)}`,
    );
  }

  const said = diag.errors.length > 0 ? diag.errors.map((l) => `  ${l}`).join('\n') : tail(result.lines);
  return new Error(
    `pip could not install the bundle's Python requirements from ${where} (exit code ${result.code ?? result.signal}):\n${said}\nTo fix it: correct ${reqName}, ${managementOff}.`,
  );
}

function describeMissing(m: MissingRequirement, indexAnswered: boolean): string {
  const parts: string[] = [];
  if (m.neededBy) parts.push(`needed by ${m.neededBy}`);
  if (indexAnswered) parts.push(m.available.length > 0 ? `the index has ${m.available.join(', ')}` : 'the index has no version of it');
  return parts.length > 0 ? `${m.spec} (${parts.join('; ')})` : m.spec;
}

/** The telling part of a urllib3 retry warning: `Failed to establish a new connection: [Errno -2] Name or service not known`. */
function networkReason(line: string): string {
  const m =
    /(Failed to establish a new connection: [^'")]*)/.exec(line) ?? /(\[Errno [^\]]+\][^'")]*)/.exec(line) ?? /((?:Read|Connect) timed out[^'")]*)/.exec(line);
  const text = (m?.[1] ?? line).trim();
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

/**
 * pip stops at the first requirement it cannot find. To name them all, drop the ones found so
 * far and ask again with `--dry-run` (nothing installed), within a count and time budget.
 */
async function recheckMissing(ctx: PipContext, requirementsText: string, first: PipDiagnosis): Promise<MissingRequirement[]> {
  const { opts, extra, python, exec } = ctx;
  const found = [...first.missing];
  const deadline = Date.now() + RECHECK_BUDGET_MS;
  // Written by the server: never into a directory the installer can write.
  const file = path.join(ctx.inputs, 'recheck-requirements.txt');
  for (let i = 0; i < RECHECK_LIMIT && Date.now() < deadline; i++) {
    const names = new Set(found.map((m) => requirementName(m.spec)).filter((n): n is string => n !== null));
    const { text, removed } = withoutRequirements(requirementsText, names);
    // A transitive requirement is not a line we can drop: what pip said is the whole story.
    if (removed === 0 || normalizeRequirements(text) === '') break;
    await writeFile(file, text, { mode: 0o644 });
    const args = pipArgs(opts, extra, ctx.cacheDir, file, { dryRun: true, retries: 0, timeout: 10 });
    let result: RunResult;
    try {
      result = await exec(python, args, Math.max(1000, deadline - Date.now()), () => {});
    } catch {
      break;
    }
    if (result.code === 0 || result.timedOut) break;
    const more = diagnosePip(result.lines).missing.filter((m) => !found.some((f) => normalizeName(f.spec) === normalizeName(m.spec)));
    if (more.length === 0) break;
    found.push(...more);
  }
  return found;
}

/**
 * With `--retries 0` pip says nothing about a failed connection: "no versions" looks the same
 * as "not on the index". Asks the interpreter (same proxies, same certificates) whether the
 * index answers at all; returns the reason it does not, or null.
 */
async function unreachable(python: string, exec: Exec, indexUrl: string): Promise<string | null> {
  if (/^file:/i.test(indexUrl)) {
    try {
      return existsSync(fileURLToPath(indexUrl)) ? null : `the directory ${fileURLToPath(indexUrl)} does not exist`;
    } catch {
      return `${indexUrl} is not a usable file URL`;
    }
  }
  const probe = [
    'import sys, urllib.request, urllib.error',
    'try:',
    '    urllib.request.urlopen(sys.argv[1], timeout=10).close()',
    'except urllib.error.HTTPError:',
    '    pass',
    'except Exception as e:',
    '    print(getattr(e, "reason", e)); sys.exit(1)',
  ].join('\n');
  try {
    const result = await exec(python, ['-c', probe, indexUrl.replace(/\/?$/, '/')], 20_000, () => {});
    if (result.code === 0) return null;
    return result.timedOut ? 'no answer within 20 s' : result.lines.join(' ').trim() || 'no connection';
  } catch {
    return null;
  }
}
