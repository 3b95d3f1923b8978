import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../runtimes/jobs/job-store.ts';
import { isSandboxSetupFault, LocalBackend } from '../../runtimes/local/local-backend.ts';

// A stand-in for bubblewrap whose first N starts fail the way a namespace's loopback set-up
// does on some kernels (before anything runs); after that it "renders".
function fakeBwrap(dir: string, failures: number): string {
  const file = path.join(dir, 'bwrap');
  const count = path.join(dir, 'count');
  writeFileSync(count, '0');
  writeFileSync(
    file,
    `#!/bin/sh
n=$(cat ${count}); echo $((n + 1)) > ${count}
if [ "$n" -lt ${failures} ]; then echo 'bwrap: loopback: Failed RTM_NEWADDR: No child processes' >&2; exit 1; fi
echo rendered; exit 0
`,
  );
  chmodSync(file, 0o755);
  return file;
}

describe('a sandbox whose set-up fails for a moment', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function render(failures: number) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-retry-'));
    const backend = new LocalBackend({
      jobs: new JobStore(path.join(dir, 'jobs')),
      sandbox: { mode: 'bwrap', bwrapPath: fakeBwrap(dir, failures), accounts: null, network: null, masked: [], extraReadOnly: [] },
      network: null,
      interpreters: { python: [], r: [] },
      restorers: { python: undefined as never, r: undefined as never },
    });
    const lines: string[] = [];
    const ran = await backend.run({
      key: 'render-test',
      contentGuid: '00000000-0000-4000-8000-000000000001',
      bundleId: 1,
      command: { argv: ['/bin/true'], env: {}, cwd: dir },
      mounts: { bundleDir: dir, envDir: null },
      env: {},
      limits: { memoryBytes: null, cpus: null },
      timeoutMs: 30_000,
      log: (l) => lines.push(l),
    });
    return { ran, lines, starts: Number(readFileSync(path.join(dir, 'count'), 'utf8')) };
  }

  it('starts it again, and the render log never shows the failed set-up', async () => {
    const { ran, lines, starts } = await render(2);
    expect(ran).toEqual({ exitCode: 0, timedOut: false });
    expect(starts).toBe(3);
    expect(lines).toEqual(['rendered']);
  });

  it('gives up after three tries and says why', async () => {
    const { ran, lines, starts } = await render(5);
    expect(ran.exitCode).toBe(1);
    expect(starts).toBe(3);
    expect(lines).toEqual(['bwrap: loopback: Failed RTM_NEWADDR: No child processes']);
  });

  it('takes only that failure for one: content printing it among other output is its own failure', () => {
    expect(isSandboxSetupFault(1, ['bwrap: loopback: Failed RTM_NEWADDR: No child processes'])).toBe(true);
    expect(isSandboxSetupFault(1, ['starting', 'bwrap: loopback: Failed RTM_NEWADDR'])).toBe(false);
    expect(isSandboxSetupFault(2, ['bwrap: loopback: Failed RTM_NEWADDR'])).toBe(false);
    expect(isSandboxSetupFault(1, [])).toBe(false);
  });
});
