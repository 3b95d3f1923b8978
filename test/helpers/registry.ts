import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../runtimes/local/ports.ts';

/**
 * A real image registry (Debian's docker-registry, Docker's distribution) on a loopback port
 * of its own, storing into a temporary directory; stopped by its pid. The engine pushes to
 * 127.0.0.1 over plain HTTP without being told to trust it.
 */
export async function startRegistry(): Promise<{ address: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-registry-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  writeFileSync(
    path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: ${address}\n`,
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += String(b)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (e) => (err += e.message));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (
      (await fetch(`http://${address}/v2/`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    ) {
      return {
        address,
        async stop() {
          child.kill('SIGTERM');
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not start (apt-get install docker-registry): ${err}`);
}
