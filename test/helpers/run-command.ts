import { spawn } from 'node:child_process';
import type { CommandSpec } from '../../runtimes/app-modes/recipe.ts';

const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/tmp' };

export { freePort } from '../../runtimes/local/ports.ts';

export interface RunningCommand {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a served recipe's command as a real process and waits until `readinessPath`
 * answers any HTTP status (or fails with the process output after `timeoutMs`).
 */
export async function startCommand(spec: CommandSpec, port: number, readinessPath = '/', timeoutMs = 60_000): Promise<RunningCommand> {
  const child = spawn(spec.argv[0]!, spec.argv.slice(1), {
    cwd: spec.cwd,
    env: { ...BASE_ENV, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const stop = async () => {
    if (exited !== undefined) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    await new Promise((r) => child.once('exit', r));
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`exited with ${exited} before listening:\n${out}`);
    try {
      await fetch(url + readinessPath, { signal: AbortSignal.timeout(2000) });
      return { url, output: () => out, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`not listening after ${timeoutMs} ms:\n${out}`);
}

/** Runs a rendered recipe's command to completion. */
export function runCommand(spec: CommandSpec, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(spec.argv[0]!, spec.argv.slice(1), { cwd: spec.cwd, env: { ...BASE_ENV, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: out });
    });
  });
}
