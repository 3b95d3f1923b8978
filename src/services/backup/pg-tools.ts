import { spawn } from 'node:child_process';
import { clientToolEnvironment } from '../../config/client-tool-env.ts';
import { BackupError } from './backup-error.ts';

/** libpq's variables for the URL parameters node-postgres and libpq share. */
const QUERY_VARIABLES: Record<string, string> = {
  host: 'PGHOST',
  port: 'PGPORT',
  sslmode: 'PGSSLMODE',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslrootcert: 'PGSSLROOTCERT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
};

/**
 * The environment that points Debian's `pg_dump`, `pg_restore` and `psql` at the database of a
 * `postgres://` URL, as libpq variables, so nothing of it goes on their command line (which
 * every account on the host can read): not the password, nor anything else. What the server's
 * own environment says (node-postgres reads the same PG* variables as defaults) is kept unless
 * the URL says otherwise; node-postgres's `ssl=true` becomes `sslmode=require`.
 */
export function libpqEnvironment(url: string, inherited: NodeJS.ProcessEnv = clientToolEnvironment()): Record<string, string> {
  const env = clientToolEnvironment(inherited);
  const u = new URL(url);
  // An IPv6 address comes bracketed, a socket directory percent-encoded.
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1');
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (database) env.PGDATABASE = database;
  for (const [name, value] of u.searchParams) {
    const variable = QUERY_VARIABLES[name];
    if (variable) env[variable] = value;
  }
  const ssl = u.searchParams.get('ssl');
  if (!u.searchParams.has('sslmode') && (ssl === 'true' || ssl === '1')) env.PGSSLMODE = 'require';
  return env;
}

/**
 * Runs one of PostgreSQL's client programs to completion with `env` as its whole environment;
 * a non-zero exit is a BackupError carrying what it printed on stderr (its last 4 KiB).
 */
export function runPgTool(program: 'pg_dump' | 'pg_restore', args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4096);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new BackupError(`${program} was not found on PATH: install Debian's postgresql-client (the version of the server or newer).`)
          : err,
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      reject(new BackupError(`${program} failed (${signal ?? `exit code ${code}`}): ${stderr.trim() || 'it printed nothing'}`));
    });
  });
}
