import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitClient, GitError } from '../../src/services/git/git-client.ts';

// The real git, against servers that misbehave.
describe('GitClient', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'lectern-git-home-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('kills a command that outlives its time limit', async () => {
    const hanging = http.createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    try {
      const git = new GitClient({ home, timeoutMs: 1000, protocols: ['http'] });
      const started = Date.now();
      const err = await git.headOf(`http://127.0.0.1:${(hanging.address() as { port: number }).port}/r.git`, 'main').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GitError);
      expect((err as Error).message).toMatch(/timed out after 1 s/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it('lets git itself refuse the transports it was not given, whatever URL reaches it', async () => {
    const git = new GitClient({ home, timeoutMs: 10_000, protocols: ['https'] });
    for (const url of ['file:///etc', 'ext::sh -c id', 'http://127.0.0.1:1/r.git']) {
      await expect(git.headOf(url, 'main')).rejects.toThrow(/not allowed|unsupported|transport/i);
    }
  });

  it('never asks for a password: no terminal, no helper', async () => {
    const asking = http.createServer((_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end());
    await new Promise<void>((r) => asking.listen(0, '127.0.0.1', r));
    try {
      const git = new GitClient({ home, timeoutMs: 10_000, protocols: ['http'] });
      await expect(git.headOf(`http://127.0.0.1:${(asking.address() as { port: number }).port}/r.git`, 'main')).rejects.toThrow(
        /terminal prompts disabled|Authentication failed/,
      );
    } finally {
      asking.close();
    }
  });
});
