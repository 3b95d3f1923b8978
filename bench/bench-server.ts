import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAppContext, type AppContext } from '../src/app-context.ts';
import { loadConfig, type ConfigInput } from '../src/config/index.ts';
import { createLogger } from '../src/logging/logger.ts';
import { buildServer, type LecternServer } from '../src/server.ts';

export interface BenchServer {
  ctx: AppContext;
  server: LecternServer;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** A publisher's API key, and the header that sends it. */
  key: string;
  auth: { authorization: string };
  /** Stops the server and removes its data directory. */
  close(): Promise<void>;
}

/**
 * Lectern on a throwaway data directory (SQLite), silent, with a publisher's API key: what
 * every bench measures. `beforeListen` sees the server before it takes connections.
 */
export async function startBenchServer(o: { overrides?: ConfigInput; beforeListen?: (server: LecternServer) => void } = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-'));
  const config = loadConfig({
    env: {},
    overrides: { dataDir, server: { address: '127.0.0.1', port: 0 }, logging: { level: 'silent' }, ...o.overrides } as Record<string, unknown>,
  });
  const ctx = await createAppContext(config, createLogger('silent'));
  const server = buildServer(ctx);
  o.beforeListen?.(server);
  const base = `http://127.0.0.1:${await server.listen()}`;
  const { user } = await ctx.users.create({ userId: null, via: 'system' }, { username: 'bench', role: 'publisher', password: 'bench-password-123' });
  const key = (await ctx.keys.create({ userId: null, via: 'system' }, user, 'bench')).secret;
  return {
    ctx,
    server,
    base,
    key,
    auth: { authorization: `Key ${key}` },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
