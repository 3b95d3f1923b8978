import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RscriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs an R script with Debian's Rscript in a fresh HOME, so rsconnect's server and account
 * records (~/.config/R/rsconnect) start empty. Pass the same home to continue a session.
 */
export function rscript(script: string, home = mkdtempSync(path.join(os.tmpdir(), 'lectern-r-home-'))): Promise<RscriptResult & { home: string }> {
  const file = path.join(home, `script-${Date.now()}.R`);
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn('Rscript', ['--vanilla', file], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`Rscript could not start (apt-get install r-cran-rsconnect): ${err.message}`)));
    child.on('exit', (code) => resolve({ code, stdout, stderr, home }));
  });
}

/** An R string literal. */
export const rq = (s: string) => JSON.stringify(s);
