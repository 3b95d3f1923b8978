import http from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, staticBundle, wsModule } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { openSession } from '../helpers/ws-session.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// proxy.front: nginx (proxy/front): Debian's nginx takes the content port, asks Lectern about
// every request and relays those for running processes itself; the rest it hands to Lectern.

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', agent: false, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

// Echoes what it was sent; tries to set Lectern's session cookie beside one of its own, and
// lets anyone frame it; echoes WebSocket messages.
const ECHO_APP = `const http = require('http'); const { WebSocketServer } = require('ws'); const boot = require('crypto').randomUUID();
const s = http.createServer((q, r) => { let b = ''; q.on('data', (c) => (b += c)); q.on('end', () => {
  r.setHeader('set-cookie', ['app_pref=1; Path=/', 'lectern_session=planted; Path=/']);
  r.setHeader('content-security-policy', "default-src 'self'");
  if (q.url.startsWith('/accel')) r.setHeader('x-accel-redirect', '/__lectern_decide__');
  r.setHeader('content-type', 'application/json');
  r.end(JSON.stringify({ boot, method: q.method, url: q.url, headers: q.headers, body: b }));
}); });
new WebSocketServer({ server: s }).on('connection', (c) => c.on('message', (m) => c.send(m)));
s.listen(Number(process.env.PORT), process.env.HOST);
`;

describe.each(DATABASES)('nginx front on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { proxy: { front: 'nginx', workers: 2 } } as never });
    key = (await t.createUser('front-publisher', 'publisher')).key;
  });
  afterAll(async () => t?.close());

  const relayed = () => t.server.frontStats()!.relayed;
  const echo = async (name: string, scaling: Record<string, number> = {}) => {
    const bundle = await makeBundle({ 'server.js': ECHO_APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' });
    const d = await deployBundle(t.url, key, name, bundle, scaling);
    expect(d.task.code, d.log).toBe(0);
    return d.content.guid as string;
  };
  /** A new viewer of the item. */
  const viewerOf = async (guid: string, name: string) => {
    const viewer = await t.createUser(name, 'viewer');
    await api(t.url, 'POST', `/__api__/v1/content/${guid}/permissions`, {
      key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    return viewer;
  };
  /** Requests until nginx, not Lectern, relays one (it learns of a new process within a second). */
  const untilRelayedByNginx = async (url: string, headers: Record<string, string>) => {
    let answer: Answer | undefined;
    await expect
      .poll(
        async () => {
          const before = relayed();
          answer = await request(url, { headers });
          return relayed() > before;
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe(true);
    return answer!;
  };

  it('relays requests for a running app itself, with what Lectern says of the viewer and nothing of its credentials', async () => {
    const guid = await echo('front-echo');
    const viewer = await viewerOf(guid, 'front-viewer');
    const url = `${t.contentUrl}/content/${guid}/some/path?q=1`;
    const r = await untilRelayedByNginx(url, { authorization: `Key ${viewer.key}`, cookie: 'theirs=1', 'rstudio-connect-credentials': '{"user":"admin"}' });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/some/path?q=1');
    expect(JSON.parse(seen.headers['rstudio-connect-credentials']!)).toEqual({ user: 'front-viewer', groups: [] });
    expect(seen.headers['x-lectern-user']).toBe('front-viewer');
    expect(seen.headers['lectern-credentials-signature']).toMatch(/\S/);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBe('theirs=1');
    expect(seen.headers['x-lectern-base-path']).toBe(`/content/${guid}/`);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    // The answer: the app's own cookie, never Lectern's; the sticky cookie; framing by Lectern only.
    const cookies = r.headers['set-cookie'] ?? [];
    expect(cookies.some((c) => c.startsWith('app_pref=1'))).toBe(true);
    expect(cookies.some((c) => c.startsWith('lectern_session='))).toBe(false);
    expect(cookies.some((c) => c.startsWith(`lectern_p_${guid.slice(0, 8)}=`))).toBe(true);
    expect(r.headers['content-security-policy']).toMatch(/default-src 'self', frame-ancestors http:\/\/127\.0\.0\.1:\d+/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    // Someone without access is refused by Lectern, in Connect's shape.
    const other = await t.createUser('front-stranger', 'viewer');
    const refused = await request(url, { headers: { authorization: `Key ${other.key}`, accept: 'application/json' } });
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 4 });
  });

  it('serves viewers with large cookies, and follows no X-Accel instruction of an app', async () => {
    const guid = await echo('front-large');
    const url = `${t.contentUrl}/content/${guid}/`;
    await untilRelayedByNginx(url, { authorization: `Key ${key}` });
    // Another app on the content origin may set cookies this size; decide repeats them to nginx.
    const big = `big=${'x'.repeat(6000)}`;
    const r = await request(url, { headers: { authorization: `Key ${key}`, cookie: big } });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers.cookie).toBe(big);
    // nginx would otherwise answer with its internal decide location instead of the app's page.
    const accel = await request(`${t.contentUrl}/content/${guid}/accel`, { headers: { authorization: `Key ${key}` } });
    expect(accel.status).toBe(200);
    expect((JSON.parse(accel.body) as { url: string }).url).toBe('/accel');
    expect(accel.headers['x-accel-redirect']).toBeUndefined();
  });

  it('sends request bodies on, both ways it relays', async () => {
    const guid = await echo('front-post');
    const url = `${t.contentUrl}/content/${guid}/submit`;
    const body = 'x'.repeat(200_000);
    await untilRelayedByNginx(url, { authorization: `Key ${key}` });
    const before = relayed();
    const fast = await request(url, { method: 'POST', headers: { authorization: `Key ${key}`, 'content-type': 'text/plain' }, body });
    expect(relayed()).toBe(before + 1);
    expect(JSON.parse(fast.body)).toMatchObject({ method: 'POST', body });
    // A WebSocket-free page of an app that is not running: Lectern starts it and relays the body.
    const cold = await echo('front-post-cold');
    const first = await request(`${t.contentUrl}/content/${cold}/submit`, { method: 'POST', headers: { authorization: `Key ${key}` }, body: 'cold body' });
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ method: 'POST', body: 'cold body' });
  });

  it('hands a request for a process that stopped to Lectern, which starts another', async () => {
    const guid = await echo('front-restart');
    const url = `${t.contentUrl}/content/${guid}/`;
    const first = JSON.parse((await untilRelayedByNginx(url, { authorization: `Key ${key}` })).body) as { boot: string };
    const jobs = (await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key })).body as Array<{ key: string; status: number }>;
    const job = jobs.find((j) => j.status === 0)!;
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${guid}/jobs/${job.key}`, { key })).status).toBeLessThan(300);
    // Whether nginx still had the old process's upstream (a 502, handed over) or not, the viewer gets the app.
    const again = await request(url, { headers: { authorization: `Key ${key}` } });
    expect(again.status).toBe(200);
    expect((JSON.parse(again.body) as { boot: string }).boot).not.toBe(first.boot);
  });

  it('refuses a deleted API key on the very next request', async () => {
    const guid = await echo('front-revoke');
    const viewer = await viewerOf(guid, 'front-revoked');
    const url = `${t.contentUrl}/content/${guid}/`;
    await untilRelayedByNginx(url, { authorization: `Key ${viewer.key}` });
    const [own] = (await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: viewer.key })).body as Array<{ id: string }>;
    expect((await api(t.url, 'DELETE', `/__api__/v1/user/api_keys/${own!.id}`, { key: viewer.key })).status).toBe(200);
    expect((await request(url, { headers: { authorization: `Key ${viewer.key}` } })).status).toBe(401);
  });

  it('leaves WebSocket sessions to Lectern, whose counts stay exact: max_conns_per_process holds', async () => {
    const guid = await echo('front-ws', { max_processes: 1, max_conns_per_process: 2 });
    const ws = `${t.contentUrl}/content/${guid}/`;
    const sessions: Duplex[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await openSession(ws, key);
      expect(s.status).toBe(101);
      sessions.push(s.socket!);
    }
    expect((await openSession(ws, key)).status).toBe(503);
    for (const s of sessions) s.destroy();
  });

  it('hands static content, logins and unknown items to Lectern', async () => {
    const d = await deployBundle(t.url, key, 'front-static', await staticBundle('<p>static behind nginx</p>'));
    expect(d.task.code, d.log).toBe(0);
    const page = await request(`${t.contentUrl}/content/${d.content.guid}/`, { headers: { authorization: `Key ${key}` } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('static behind nginx');
    const anon = await request(`${t.contentUrl}/content/${d.content.guid}/`, { headers: { accept: 'text/html' } });
    expect(anon.status).toBe(302);
    expect(anon.headers.location).toContain('/login?next=');
    const missing = await request(`${t.contentUrl}/content/00000000-0000-4000-8000-000000000000/`, {
      headers: { authorization: `Key ${key}`, accept: 'application/json' },
    });
    expect(missing.status).toBe(404);
    // nginx's own endpoint for Lectern's answers is not reachable from outside.
    expect((await request(`${t.contentUrl}/__lectern_decide__`)).status).toBe(404);
  });
});

describe('nginx front without nginx', () => {
  it('refuses to start, saying what to install', async () => {
    await expect(startTestServer('sqlite', { config: { proxy: { front: 'nginx', nginxPath: '/nonexistent/nginx' } } as never })).rejects.toThrow(
      /\/nonexistent\/nginx could not start.*install nginx-light/,
    );
  });
});
