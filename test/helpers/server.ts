import { Writable } from 'node:stream';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { loadConfig, type ConfigInput } from '../../src/config/index.ts';
import type { User, UserRole } from '../../src/domain/user.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { buildServer, type LecternServer } from '../../src/server.ts';
import { createFirstAdmin } from '../../src/services/bootstrap.ts';
import { removeEverythingOf } from './docker.ts';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.ts';

export interface TestServer {
  url: string;
  /** The content origin (a port of its own). */
  contentUrl: string;
  server: LecternServer;
  db: TestDatabase;
  admin: { user: User; password: string; key: string };
  /** Every JSON log line the server wrote. */
  logs: string[];
  /** Creates a user with a known password and an API key. */
  createUser(username: string, role: UserRole, opts?: { password?: string }): Promise<{ user: User; password: string; key: string }>;
  /** Stops the server but keeps the database (for restart tests). */
  stop(): Promise<void>;
  /** Stops the server and drops the database. */
  close(): Promise<void>;
}

/**
 * Scheduler settings that keep its own timer out of the way: tests call tick() with a clock
 * they move. A lease must span three ticks (config), so it is long too.
 */
export const QUIET_SCHEDULER = { tickSeconds: 300, leaseSeconds: 900 } as const;

export interface StartOptions {
  config?: ConfigInput;
  /** Reuse a database (and data directory) from an earlier server. */
  db?: TestDatabase;
  /** The time the scheduler and render history read (a test clock it drives). */
  clock?: () => Date;
}

/** The first run creates the administrator; a restarted server gets a fresh key for it. */
async function adminFor(ctx: AppContext): Promise<TestServer['admin']> {
  const first = await createFirstAdmin(ctx.users, ctx.keys);
  if (first) return { user: first.user, password: first.password, key: first.apiKey };
  const user = await ctx.users.byUsername('admin');
  const { secret } = await ctx.keys.create({ userId: null, via: 'system' }, user, 'restart');
  return { user, password: '', key: secret };
}

export async function startTestServer(kind: DatabaseKind, opts: StartOptions = {}): Promise<TestServer> {
  const db = opts.db ?? (await createTestDatabase(kind));
  const base: ConfigInput = {
    dataDir: db.dataDir,
    database: { url: db.url },
    server: { address: '127.0.0.1', port: 0, shutdownGraceSeconds: 5 },
    logging: { level: 'info' },
  };
  // One process unless a test asks for proxy workers: tests read logs and usage in this process.
  const overrides = {
    ...base,
    ...opts.config,
    server: { ...base.server, ...opts.config?.server },
    proxy: { workers: 1, ...opts.config?.proxy },
  } as Record<string, unknown>;
  const config = loadConfig({ env: {}, overrides });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const ctx = await createAppContext(config, createLogger(config.logging.level, sink), undefined, { clock: opts.clock });
  const server = buildServer(ctx);
  const port = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  const contentUrl = `http://127.0.0.1:${server.contentPort}`;

  const admin = await adminFor(ctx);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };

  return {
    url,
    contentUrl,
    server,
    db,
    admin,
    logs,
    async createUser(username, role, o = {}) {
      const password = o.password ?? `pw-${username}-0123456789`;
      const actor = { userId: null, via: 'system' as const };
      const { user } = await ctx.users.create(actor, { username, role, password, email: `${username}@example.com` });
      const { secret } = await ctx.keys.create(actor, user, 'test');
      return { user, password, key: secret };
    },
    stop,
    async close() {
      await stop();
      await removeEverythingOf(db.dataDir);
      await db.drop();
    },
  };
}

/** JSON API calls with an API key. */
export async function api(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Key ${opts.key}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
  return { status: res.status, body: parsed, headers: res.headers };
}
