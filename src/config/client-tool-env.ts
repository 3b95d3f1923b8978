/**
 * What of the server's own environment a database client program (`pg_dump`, `pg_restore`)
 * may inherit: libpq's PG* defaults (node-postgres reads the same ones), the search path, the
 * home directory and the locale. Read here, as every other variable is, and nothing else of it
 * (no LECTERN_* setting, no secret) reaches the child.
 */
export function clientToolEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (k.startsWith('PG') || k === 'PATH' || k === 'HOME' || k === 'LANG' || k === 'LC_ALL' || k === 'TZ')) out[k] = v;
  }
  return out;
}
