import type { ProcessSpec } from './backend.ts';

/**
 * What a content process sees, whichever backend runs it: its files at neutral paths that
 * reveal nothing of the host, and an environment built from nothing but its own.
 */

/** Where content sees its bundle, environment and render output (sandbox or container). */
export const SANDBOX_PATHS = { bundle: '/lectern/app', env: '/lectern/env', output: '/lectern/output' } as const;

export const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Rewrites host paths in argv and variables to where the process sees them (identity when not confined). */
export function mapper(spec: ProcessSpec, sandboxed: boolean) {
  const pairs: Array<[string, string]> = [];
  if (sandboxed) {
    pairs.push([spec.mounts.bundleDir, SANDBOX_PATHS.bundle]);
    if (spec.mounts.envDir) pairs.push([spec.mounts.envDir, SANDBOX_PATHS.env]);
    if (spec.mounts.outputDir) pairs.push([spec.mounts.outputDir, SANDBOX_PATHS.output]);
  }
  // Longest first, so a path inside another maps by the more specific mount.
  pairs.sort((a, b) => b[0].length - a[0].length);
  return (s: string) => {
    for (const [host, inside] of pairs) if (s.includes(host)) s = s.split(host).join(inside);
    return s;
  };
}

/** The environment a content process starts with: nothing inherited from the server. */
export function environment(spec: ProcessSpec, map: (s: string) => string, runAs: { name: string } | null): Record<string, string> {
  const merged: Record<string, string> = { ...spec.command.env, ...spec.env };
  const prepend = merged.PATH_PREPEND;
  delete merged.PATH_PREPEND;
  const env: Record<string, string> = {
    PATH: prepend ? `${prepend}:${BASE_PATH}` : BASE_PATH,
    HOME: '/tmp',
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ...(runAs ? { USER: runAs.name, LOGNAME: runAs.name } : {}),
    ...merged,
  };
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, map(v)]));
}
