import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Interpreter } from './interpreters.ts';

const run = promisify(execFile);

const DEFAULT_PYTHON = ['/usr/bin/python3'];
const DEFAULT_R = ['/usr/bin/R'];

async function version(file: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run(file, args, { timeout: 20_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The configured installations (or Debian's defaults), each asked for its version. One that
 * does not answer is left out; a deploy that needs it then says what to install.
 */
export async function discoverInterpreters(configured: {
  python: string[];
  r: string[];
}): Promise<{ python: Interpreter[]; r: Interpreter[]; missing: string[] }> {
  const missing: string[] = [];
  const python: Interpreter[] = [];
  for (const p of configured.python.length ? configured.python : DEFAULT_PYTHON) {
    const v = await version(p, ['-c', 'import platform; print(platform.python_version())']);
    if (v) python.push({ language: 'python', path: p, version: v });
    else missing.push(p);
  }
  const r: Interpreter[] = [];
  for (const p of configured.r.length ? configured.r : DEFAULT_R) {
    const v = await version(path.join(path.dirname(p), 'Rscript'), ['-e', 'cat(as.character(getRversion()))']);
    if (v) r.push({ language: 'r', path: p, version: v });
    else missing.push(p);
  }
  return { python, r, missing };
}
