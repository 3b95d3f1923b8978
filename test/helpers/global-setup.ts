import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
// A free port, so several test runs on one machine do not collide.
import { freePort } from '../../runtimes/local/ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/test-postgres.sh');
const DOCKER_SCRIPT = path.resolve(import.meta.dirname, '../../scripts/docker-engine.sh');
const LECTERN = path.resolve(import.meta.dirname, '../../bin/lectern');

/**
 * The integration suite runs on PostgreSQL as well as SQLite, always. CI passes its cluster in
 * LECTERN_TEST_PG_URL; otherwise a throwaway cluster is started here and stopped afterwards.
 * If neither works the suite fails: a skipped database is an untested database.
 */
/**
 * The container tests need a Docker engine: the running one, else Debian's dockerd started
 * here (scripts/docker-engine.sh) and stopped afterwards by its pid. A missing engine fails
 * those tests; it never skips them.
 */
function startDocker(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-docker-'));
  execFileSync('bash', [DOCKER_SCRIPT, 'start', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  // The runtime images every Docker test deploys into, as an administrator makes them: built
  // once here (about two minutes from nothing, a second when they are there).
  execFileSync(LECTERN, ['runtimes', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return () => {
    execFileSync('bash', [DOCKER_SCRIPT, 'stop', dir]);
    rmSync(dir, { recursive: true, force: true });
  };
}

const PROVISION = path.resolve(import.meta.dirname, '../../scripts/provision.sh');

/**
 * The Debian packages the suite needs (PostgreSQL, R, Python, the sandbox, Docker, Chromium,
 * slapd...): installed here when missing and this is root, so `npm ci && npm test` works on a
 * fresh machine; otherwise the run stops at once with the one command that installs them.
 */
function ensureProvisioned(): void {
  let missing: string;
  try {
    execFileSync('bash', [PROVISION, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return;
  } catch (err) {
    const e = err as { status?: number; stdout?: string };
    if (e.status !== 3) throw err;
    missing = (e.stdout ?? '').trim();
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`The tests need Debian packages this machine lacks (${missing}). Install them with:\n\n  sudo bash scripts/provision.sh\n`);
  }
  process.stderr.write(`Installing the Debian packages the tests need: ${missing} (once; a few minutes)\n`);
  execFileSync('bash', [PROVISION], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export default async function setup(project: TestProject) {
  ensureProvisioned();
  const stopDocker = startDocker();
  const given = process.env.LECTERN_TEST_PG_URL;
  if (given) {
    project.provide('pgAdminUrl', given);
    return stopDocker;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-pg-'));
  const url = execFileSync('bash', [SCRIPT, 'start', dir, String(await freePort())], { encoding: 'utf8' }).trim();
  project.provide('pgAdminUrl', url);
  return () => {
    execFileSync('bash', [SCRIPT, 'stop', dir]);
    rmSync(dir, { recursive: true, force: true });
    stopDocker();
  };
}
