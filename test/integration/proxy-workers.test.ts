import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeBundle, staticBundle, wsModule } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { openSession } from '../helpers/ws-session.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// The content origin's data plane in two worker processes (proxy.workers 2, proxy/workers):
// the instance pool's counts, sticky choices and caches must hold across them.

/** One request over a connection of its own (so any worker may take it). */
function getFresh(url: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

/** The process ids that hold established connections to a local port. */
function holdersOf(port: number): Set<number> {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
}

// Answers with its process id, and echoes WebSocket messages.
const PID_APP =
  "const http = require('http'); const { WebSocketServer } = require('ws'); const s = http.createServer((q, r) => r.end(String(process.pid))); new WebSocketServer({ server: s }).on('connection', (c) => c.on('message', (m) => c.send(m))); s.listen(Number(process.env.PORT), process.env.HOST);\n";

const METRICS_TOKEN = 'workers-metrics-token-0123456789';

describe.each(DATABASES)('proxy workers on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { proxy: { workers: 2 }, metrics: { enabled: true, token: METRICS_TOKEN } } as never });
    key = (await t.createUser('worker-publisher', 'publisher')).key;
  });
  afterAll(async () => t?.close());

  const running = async (guid: string) =>
    (await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key })).body.filter(
      (j: { status: number; tag: string }) => j.status === 0 && j.tag === 'run_app',
    );

  it('runs two workers on the content port, each taking connections', async () => {
    const pids = t.server.proxyWorkerPids();
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(process.pid);
  });

  it('keeps max_conns_per_process across workers: 60 Shiny sessions on 3 processes, the 61st refused', async () => {
    const d = await deployBundle(t.url, key, 'workers-shiny', fixture('r-shiny.tar.gz'), { max_processes: 3, max_conns_per_process: 20 });
    expect(d.task.code, d.log).toBe(0);
    const ws = `${t.contentUrl}/content/${d.content.guid}/websocket/`;
    const sessions: Duplex[] = [];
    for (let i = 0; i < 60; i++) {
      const s = await openSession(ws, key);
      expect(s.status, `session ${i + 1}`).toBe(101);
      sessions.push(s.socket!);
    }
    // Both workers carry sessions: the owner's counts were exact for connections neither saw.
    const holders = holdersOf(Number(new URL(t.contentUrl).port));
    for (const pid of t.server.proxyWorkerPids()) expect(holders.has(pid), `worker ${pid} holds sessions`).toBe(true);
    expect(await running(d.content.guid)).toHaveLength(3);
    expect((await openSession(ws, key)).status).toBe(503);
    // One session ends: its slot is free again, whichever worker asks.
    sessions.pop()!.destroy();
    await expect.poll(async () => (await openSession(ws, key).then((s) => (s.socket?.destroy(), s.status))) === 101, { timeout: 10_000 }).toBe(true);
    for (const s of sessions) s.destroy();
  });

  it('keeps a session on its process whichever worker takes its requests', async () => {
    const bundle = await makeBundle({ 'server.js': PID_APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' });
    const d = await deployBundle(t.url, key, 'workers-sticky', bundle, { max_processes: 3, max_conns_per_process: 2, load_factor: 1 });
    expect(d.task.code, d.log).toBe(0);
    const base = `${t.contentUrl}/content/${d.content.guid}/`;
    // Six open sessions fill three processes of two.
    const sessions: Duplex[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await openSession(base, key);
      expect(s.status).toBe(101);
      sessions.push(s.socket!);
    }
    expect(await running(d.content.guid)).toHaveLength(3);
    for (const s of sessions.splice(0, 3)) s.destroy();
    // Each process a cookie names answers every request that carries it, over fresh connections.
    const jobs = (await running(d.content.guid)) as Array<{ key: string }>;
    const cookieName = `lectern_p_${d.content.guid.slice(0, 8)}`;
    for (const job of jobs) {
      const answers = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const r = await getFresh(base, { authorization: `Key ${key}`, cookie: `${cookieName}=${job.key}` });
        expect(r.status).toBe(200);
        answers.add(r.body);
        expect(r.headers['set-cookie']?.join(';')).toContain(`${cookieName}=${job.key}`);
      }
      expect(answers.size, `requests named ${job.key}`).toBe(1);
    }
    for (const s of sessions) s.destroy();
  });

  it("hands what is not an app's to the server's pages: static files, logins, errors", async () => {
    const d = await deployBundle(t.url, key, 'workers-static', await staticBundle('<p>served by the pages</p>'));
    expect(d.task.code, d.log).toBe(0);
    const page = await getFresh(`${t.contentUrl}/content/${d.content.guid}/`, { authorization: `Key ${key}` });
    expect(page.status).toBe(200);
    expect(page.body).toContain('served by the pages');
    // A browser without a session is sent to log in and back.
    const anon = await getFresh(`${t.contentUrl}/content/${d.content.guid}/`, { accept: 'text/html' });
    expect(anon.status).toBe(302);
    expect(anon.headers.location).toContain('/login?next=');
    const missing = await getFresh(`${t.contentUrl}/content/00000000-0000-4000-8000-000000000000/`, {
      authorization: `Key ${key}`,
      accept: 'application/json',
    });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 4 });
    // A client cannot speak for a worker.
    const forged = await getFresh(`${t.contentUrl}/content/${d.content.guid}/`, {
      authorization: `Key ${key}`,
      'x-lectern-handoff': Buffer.from(JSON.stringify({ userId: t.admin.user.id })).toString('base64url'),
      'x-lectern-handoff-secret': 'guess',
    });
    expect(forged.status).toBe(200);
  });

  it('forgets a deleted API key in every worker at once', async () => {
    const bundle = await makeBundle({ 'server.js': PID_APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' });
    const d = await deployBundle(t.url, key, 'workers-revoke', bundle);
    const viewer = await t.createUser('worker-viewer', 'viewer');
    await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/permissions`, {
      key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    const url = `${t.contentUrl}/content/${d.content.guid}/`;
    // Both workers have the key cached.
    for (let i = 0; i < 10; i++) expect((await getFresh(url, { authorization: `Key ${viewer.key}` })).status).toBe(200);
    const [own] = (await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: viewer.key })).body as Array<{ id: string }>;
    expect((await api(t.url, 'DELETE', `/__api__/v1/user/api_keys/${own!.id}`, { key: viewer.key })).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await getFresh(url, { authorization: `Key ${viewer.key}` })).status).toBe(401);
  });

  it("records usage and metrics of requests the workers relayed, in the server's tables", async () => {
    const bundle = await makeBundle({ 'server.js': PID_APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' });
    const d = await deployBundle(t.url, key, 'workers-usage', bundle);
    for (let i = 0; i < 5; i++) expect((await getFresh(`${t.contentUrl}/content/${d.content.guid}/hit${i}`, { authorization: `Key ${key}` })).status).toBe(200);
    const hits = async () => (await api(t.url, 'GET', `/__api__/v1/instrumentation/content/hits?content_guid=${d.content.guid}`, { key })).body as unknown[];
    await expect.poll(async () => (await hits()).length, { timeout: 15_000 }).toBe(5);
    const scrape = async () => {
      const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      return Number(new RegExp(`lectern_content_requests_total\\{content_guid="${d.content.guid}",status_class="2xx"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    await expect.poll(scrape, { timeout: 15_000 }).toBe(5);
  });
});
