import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { makeBundle, wsModule } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { handshake } from '../helpers/websocket.ts';

// One small Node.js app with a route per behaviour under test.
const APP = `
const http = require('http');
const crypto = require('crypto');
const { WebSocketServer } = require('ws');
let release;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/upload') {
    const h = crypto.createHash('sha256'); let n = 0;
    req.on('data', (c) => { h.update(c); n += c.length; });
    req.on('end', () => res.end(JSON.stringify({ bytes: n, sha256: h.digest('hex') })));
    return;
  }
  if (url.pathname === '/download') {
    const size = Number(url.searchParams.get('mb')) * 1024 * 1024; let sent = 0; let i = 0;
    res.setHeader('content-length', size);
    const more = () => { while (sent < size) { const c = Buffer.alloc(Math.min(65536, size - sent), i++ % 251); sent += c.length; if (!res.write(c)) return res.once('drain', more); } res.end(); };
    return more();
  }
  if (url.pathname === '/stream') { res.write('first\\n'); release = () => res.end('second\\n'); return; }
  if (url.pathname === '/release') { release?.(); return res.end('released'); }
  if (url.pathname === '/headers') { res.setHeader('content-type', 'application/json'); return res.end(JSON.stringify(req.headers)); }
  if (url.pathname === '/die') { process.exit(3); }
  res.end('ok');
});
const wss = new WebSocketServer({ server, handleProtocols: (p) => (p.has('chat.v2') ? 'chat.v2' : false) });
wss.on('connection', (c, req) => {
  c.send('hello ' + (req.headers['x-lectern-user'] || 'anonymous'));
  c.on('message', (m, binary) => {
    if (String(m) === 'close-please') return c.close(4321, 'asked to');
    c.send(m, { binary });
  });
});
server.listen(Number(process.env.PORT), process.env.HOST);
`;

function sha256(b: Buffer) {
  return createHash('sha256').update(b).digest('hex');
}

/** A raw request, so chunks can be read as they arrive. */
function openStream(url: string, key: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { authorization: `Key ${key}` } }, resolve).on('error', reject);
  });
}

/** A browser's page load (fetch() would send its own Sec-Fetch-Mode). */
function navigate(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe.each(DATABASES)('the proxy relays content faithfully on %s', (kind) => {
  let t: TestServer;
  let owner: { key: string };
  let viewer: { key: string };
  let guid: string;
  let base: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { proxy: { websocketPingSeconds: 1 } } as never });
    owner = await t.createUser('relay-owner', 'publisher');
    viewer = await t.createUser('relay-viewer', 'viewer');
    const d = await deployBundle(
      t.url,
      owner.key,
      'relay-app',
      await makeBundle({ 'server.js': APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' }),
      { access_type: 'logged_in', max_processes: 1 },
    );
    expect(d.task.code, d.log).toBe(0);
    guid = d.content.guid;
    base = `${t.url}/content/${guid}`;
  }, 120_000);
  afterAll(async () => t?.close());

  it('streams a 64 MB upload and a 64 MB download through intact', async () => {
    const body = randomBytes(64 * 1024 * 1024);
    const up = await fetch(`${base}/upload`, { method: 'POST', headers: { authorization: `Key ${owner.key}` }, body });
    expect(await up.json()).toEqual({ bytes: body.length, sha256: sha256(body) });
    const down = await fetch(`${base}/download?mb=64`, { headers: { authorization: `Key ${owner.key}` } });
    const got = Buffer.from(await down.arrayBuffer());
    expect(got.length).toBe(64 * 1024 * 1024);
    expect(got[65536]).toBe(1);
  });

  it('passes each chunk on as the app writes it, without waiting for the end', async () => {
    const res = await openStream(`${base}/stream`, owner.key);
    let received = '';
    res.on('data', (c: Buffer) => (received += String(c)));
    const ended = new Promise((resolve) => res.once('end', resolve));
    await expect.poll(() => received).toBe('first\n');
    // Only now does the app finish: a proxy that buffered would never have shown 'first'.
    expect((await get(`${base}/release`, owner.key)).text).toBe('released');
    await ended;
    expect(received).toBe('first\nsecond\n');
  });

  it('tells the app where the request came from, and drops per-connection headers', async () => {
    // With trustProxy 0 (here) a client's X-Forwarded-Host and -Proto are replaced by what Lectern saw.
    const res = await fetch(`${base}/headers`, {
      headers: {
        authorization: `Key ${viewer.key}`,
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        te: 'trailers',
        'proxy-authorization': 'Basic eA==',
      },
    });
    const seen = (await res.json()) as Record<string, string>;
    expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe(new URL(t.url).host);
    expect(seen['x-lectern-user']).toBe('relay-viewer');
    expect(seen).not.toHaveProperty('te');
    expect(seen).not.toHaveProperty('proxy-authorization');
    expect(seen).not.toHaveProperty('authorization');
  });

  it('relays WebSocket messages, the chosen subprotocol and close codes', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/`, ['chat.v1', 'chat.v2'], { headers: { authorization: `Key ${viewer.key}` } });
    const messages: string[] = [];
    ws.on('message', (m) => messages.push(String(m)));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    expect(ws.protocol).toBe('chat.v2');
    ws.send(Buffer.from([1, 2, 3]));
    await expect.poll(() => messages.length).toBe(2);
    expect(messages[0]).toBe('hello relay-viewer');
    ws.send('close-please');
    const [code, reason] = await new Promise<[number, string]>((resolve) => ws.once('close', (c, r) => resolve([c, String(r)])));
    expect([code, reason]).toEqual([4321, 'asked to']);
  });

  it('pings quiet viewers, and drops one that stopped answering', async () => {
    // Pings every second (the server's setting here); a live client answers them.
    const live = new WebSocket(`${base.replace('http', 'ws')}/`, { headers: { authorization: `Key ${viewer.key}` } });
    let pings = 0;
    live.on('ping', () => pings++);
    await new Promise((resolve) => live.once('open', resolve));
    await expect.poll(() => pings, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(live.readyState).toBe(WebSocket.OPEN);
    live.close();
    // A client that never answers is taken for gone.
    const dead = new WebSocket(`${base.replace('http', 'ws')}/`, { headers: { authorization: `Key ${viewer.key}` }, autoPong: false });
    await new Promise((resolve) => dead.once('open', resolve));
    const closed = await new Promise<number>((resolve) => dead.once('close', (c) => resolve(c)));
    expect(closed).toBe(1006);
  });

  it('refuses a malformed WebSocket handshake without holding on to a process', async () => {
    // One process that takes one connection: a leaked slot would make the good session a 503.
    const d = await deployBundle(
      t.url,
      owner.key,
      'one-slot',
      await makeBundle({ 'server.js': APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' }),
      { access_type: 'logged_in', max_processes: 1, max_conns_per_process: 1 },
    );
    expect(d.task.code, d.log).toBe(0);
    const url = `${t.url}/content/${d.content.guid}/`;
    const attempt = (headers: Record<string, string>) => handshake(url, { authorization: `Key ${viewer.key}`, ...headers });
    expect(await attempt({ 'sec-websocket-version': '12' })).toBe(400);
    expect(await attempt({ 'sec-websocket-key': 'not-a-key' })).toBe(400);
    expect(await attempt({ 'sec-websocket-protocol': 'chat, chat' })).toBe(400);
    // The one slot is free: a proper session gets in.
    await expect.poll(() => attempt({})).toBe(101);
  });

  it("answers 502 when the app died mid-request, with the process's job key for its owner only", async () => {
    // A copy per caller: after a crash the app's restart is held back for a while.
    const copy = async (name: string) => {
      const d = await deployBundle(
        t.url,
        owner.key,
        name,
        await makeBundle({ 'server.js': APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' }),
        { access_type: 'logged_in' },
      );
      expect(d.task.code, d.log).toBe(0);
      return `${t.url}/content/${d.content.guid}`;
    };
    const forViewer = await fetch(`${await copy('dies-for-viewer')}/die`, { headers: { authorization: `Key ${viewer.key}`, accept: 'application/json' } });
    expect(forViewer.status).toBe(502);
    const v = (await forViewer.json()) as { error: string; payload: unknown };
    expect(v.error).toMatch(/stopped/);
    expect(v.payload).toBeNull();
    const forOwner = await fetch(`${await copy('dies-for-owner')}/die`, { headers: { authorization: `Key ${owner.key}`, accept: 'application/json' } });
    expect(forOwner.status).toBe(502);
    const o = (await forOwner.json()) as { error: string; payload: { job_key: string; log: string } };
    expect(o.error).toContain(o.payload.job_key);
    const log = await api(t.url, 'GET', o.payload.log, { key: owner.key });
    expect(log.status).toBe(200);
  });
});

describe.each(DATABASES)('cold starts seen from a browser on %s', (kind) => {
  let t: TestServer;
  let owner: { key: string };
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { proxy: { startingPageAfterMs: 300 } } as never });
    owner = await t.createUser('slow-owner', 'publisher');
  });
  afterAll(async () => t?.close());

  it('shows a page that retries while a slow app starts, and waits for API callers', async () => {
    const slow = "setTimeout(() => require('http').createServer((q, s) => s.end('ready')).listen(Number(process.env.PORT), process.env.HOST), 2000);\n";
    const d = await deployBundle(t.url, owner.key, 'slow-start', await makeBundle({ 'server.js': slow }, { appmode: 'nodejs', entrypoint: 'server.js' }), {
      access_type: 'all',
      idle_timeout: 1,
    });
    expect(d.task.code, d.log).toBe(0);
    const running = async () =>
      ((await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key: owner.key })).body as Array<{ status: number; tag: string }>).filter(
        (j) => j.status === 0 && j.tag === 'run_app',
      ).length;
    await expect.poll(running, { timeout: 20_000, interval: 300 }).toBe(0);

    const page = await navigate(`${t.contentUrl}/content/${d.content.guid}/`);
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBe('2');
    const html = page.body;
    expect(html).toContain('<meta http-equiv="refresh" content="2">');
    expect(html).toContain('is starting');
    // The start went on without the page: the browser's retry gets the app.
    await expect.poll(async () => (await navigate(`${t.contentUrl}/content/${d.content.guid}/`)).status, { timeout: 20_000 }).toBe(200);

    await expect.poll(running, { timeout: 20_000, interval: 300 }).toBe(0);
    // A caller that gives up during the start leaves no connection behind: with one process of
    // one connection, a leaked one would turn every later request away as busy.
    await api(t.url, 'PATCH', `/__api__/v1/content/${d.content.guid}`, { key: owner.key, body: { max_processes: 1, max_conns_per_process: 1 } });
    await expect(
      fetch(`${t.url}/content/${d.content.guid}/`, { headers: { authorization: `Key ${owner.key}` }, signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();
    await expect.poll(async () => (await get(`${t.url}/content/${d.content.guid}/`, owner.key)).status, { timeout: 20_000 }).toBe(200);
    await expect.poll(running, { timeout: 20_000, interval: 300 }).toBe(0);
    // A program gets the app itself, however long the start takes.
    expect((await get(`${t.url}/content/${d.content.guid}/`, owner.key)).text).toBe('ready');
  });
});
