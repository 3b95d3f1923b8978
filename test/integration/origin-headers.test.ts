import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BrowserSession } from '../helpers/browser.ts';
import { makeBundle, staticBundle, wsModule } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// http: with https, session cookies would be Secure and these plain-http tests could not log in.
const PUBLIC = 'http://lectern.example.com';
const EVIL = 'evil.example';

// Answers with the headers it was sent; two routes set a policy of their own.
const APP = `
const http = require('http');
const { WebSocketServer } = require('ws');
const server = http.createServer((req, res) => {
  if (req.url === '/own-csp') res.setHeader('content-security-policy', "default-src 'self'");
  if (req.url === '/own-frame-ancestors') res.setHeader('content-security-policy', "default-src 'self'; frame-ancestors 'none'");
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(req.headers));
});
new WebSocketServer({ server }).on('connection', (c, req) => c.send(JSON.stringify(req.headers)));
server.listen(Number(process.env.PORT), process.env.HOST);
`;

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with any Host header (fetch() would send the URL's). */
function raw(url: string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

const warnings = (t: TestServer) =>
  t.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40 && l.msg.includes('X-Forwarded-For'));

describe.each(DATABASES)('with server.publicUrl set, on %s', (kind) => {
  let t: TestServer;
  let owner: { key: string; password: string };
  let contentOrigin: string;
  let privatePage: string;
  let publicPage: string;
  let app: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { server: { publicUrl: PUBLIC } } });
    owner = await t.createUser('origin-owner', 'publisher');
    // Without server.contentUrl, the content origin is publicUrl's host on the content port.
    contentOrigin = `${PUBLIC}:${t.server.contentPort}`;
    const deployed = await Promise.all([
      deployBundle(t.url, owner.key, 'private-page', await staticBundle('<p>private</p>'), { access_type: 'logged_in' }),
      deployBundle(t.url, owner.key, 'public-page', await staticBundle('<p>public</p>'), { access_type: 'all' }),
      deployBundle(t.url, owner.key, 'header-echo', await makeBundle({ 'server.js': APP, ...wsModule() }, { appmode: 'nodejs', entrypoint: 'server.js' }), {
        access_type: 'all',
      }),
    ]);
    for (const d of deployed) expect(d.task.code, d.log).toBe(0);
    [privatePage, publicPage, app] = deployed.map((d) => `/content/${d.content.guid}/`) as [string, string, string];
  }, 120_000);
  afterAll(async () => t?.close());

  it('builds login redirects and content addresses from publicUrl, whatever the Host header says', async () => {
    const evilContent = `http://${EVIL}:${t.server.contentPort}${publicPage}`;
    // The login form does not take an address on the Host header's "content origin" as its next stop.
    const form = await raw(`${t.url}/login?next=${encodeURIComponent(evilContent)}`, { host: EVIL });
    expect(form.status).toBe(200);
    expect(form.body).toContain('name="next" value="/"');
    expect(form.headers['content-security-policy']).not.toContain(EVIL);
    expect(form.headers['content-security-policy']).toContain(`form-action 'self' ${contentOrigin}`);

    // Nor once logged in; the real content origin is still a place to return to.
    const b = new BrowserSession(t.url);
    expect((await b.login('origin-owner', owner.password)).status).toBe(303);
    const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const away = await raw(`${t.url}/login?next=${encodeURIComponent(evilContent)}`, { host: EVIL, cookie });
    expect([away.status, away.headers.location]).toEqual([303, '/']);
    const back = await raw(`${t.url}/login?next=${encodeURIComponent(`${contentOrigin}${publicPage}`)}`, { host: EVIL, cookie });
    expect([back.status, back.headers.location]).toEqual([303, `${contentOrigin}${publicPage}`]);

    // A browser asking Lectern's origin for content is sent to the configured content origin.
    const sent = await raw(`${t.url}${publicPage}`, { host: EVIL, accept: 'text/html' });
    expect([sent.status, sent.headers.location]).toEqual([302, `${contentOrigin}${publicPage}`]);

    // The content origin sends a viewer to log in at publicUrl, and back to itself.
    const login = await raw(`${t.contentUrl}${privatePage}`, { host: `${EVIL}:${t.server.contentPort}`, accept: 'text/html' });
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe(`${PUBLIC}/login?next=${encodeURIComponent(`${contentOrigin}${privatePage}`)}`);

    // The API's content URLs.
    const guid = publicPage.split('/')[2]!;
    const v1 = await raw(`${t.url}/__api__/v1/content/${guid}`, { host: EVIL, authorization: `Key ${owner.key}` });
    expect(JSON.parse(v1.body).content_url).toBe(`${PUBLIC}${publicPage}`);
  });

  it("tells apps Lectern's own host and scheme, never a client's X-Forwarded-Host or Host", async () => {
    const spoofed = { host: EVIL, 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'https' };
    const onContent = JSON.parse((await raw(`${t.contentUrl}${app}`, spoofed)).body) as Record<string, string>;
    expect(onContent['x-forwarded-host']).toBe(new URL(contentOrigin).host);
    expect(onContent['x-forwarded-proto']).toBe('http');
    const onMain = JSON.parse((await raw(`${t.url}${app}`, { ...spoofed, authorization: `Key ${owner.key}` })).body) as Record<string, string>;
    expect(onMain['x-forwarded-host']).toBe(new URL(PUBLIC).host);
    expect(onMain['x-forwarded-proto']).toBe('http');

    const ws = new WebSocket(`${t.contentUrl.replace('http', 'ws')}${app}`, {
      headers: { 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'https' },
    });
    const first = await new Promise<string>((resolve, reject) => ws.once('message', (m) => resolve(String(m))).once('error', reject));
    ws.close();
    const seen = JSON.parse(first) as Record<string, string>;
    expect(seen['x-forwarded-host']).toBe(new URL(contentOrigin).host);
    expect(seen['x-forwarded-proto']).toBe('http');
  });

  it("lets only Lectern's own pages frame content", async () => {
    const policy = `frame-ancestors ${PUBLIC}`;
    // Pages Express renders on the content origin: a static file, a login redirect, a 404.
    expect((await raw(`${t.contentUrl}${publicPage}`, {})).headers['content-security-policy']).toBe(policy);
    expect((await raw(`${t.contentUrl}${privatePage}`, { accept: 'text/html' })).headers['content-security-policy']).toBe(policy);
    expect((await raw(`${t.contentUrl}/content/00000000-0000-4000-8000-000000000000/`, {})).headers['content-security-policy']).toBe(policy);
    // Relayed from an app: added; beside the app's own policy when it has no frame-ancestors;
    // the app's own frame-ancestors left as it is.
    expect((await raw(`${t.contentUrl}${app}`, {})).headers['content-security-policy']).toBe(policy);
    expect((await raw(`${t.contentUrl}${app}own-csp`, {})).headers['content-security-policy']).toBe(`default-src 'self', ${policy}`);
    expect((await raw(`${t.contentUrl}${app}own-frame-ancestors`, {})).headers['content-security-policy']).toBe("default-src 'self'; frame-ancestors 'none'");
  });
});

describe.each(DATABASES)('behind a proxy Lectern was not told about, on %s', (kind) => {
  let t: TestServer;
  afterEach(async () => t?.close());

  it('warns once, at the first request with X-Forwarded-For, when server.trustProxy is 0', async () => {
    t = await startTestServer(kind);
    await api(t.url, 'GET', '/__api__/server_settings');
    expect(warnings(t)).toEqual([]);
    await api(t.url, 'GET', '/__api__/server_settings', { headers: { 'x-forwarded-for': '203.0.113.7' } });
    await api(t.url, 'GET', '/__api__/server_settings', { headers: { 'x-forwarded-for': '203.0.113.8' } });
    await fetch(`${t.contentUrl}/content/00000000-0000-4000-8000-000000000000/`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    const said = warnings(t);
    expect(said).toHaveLength(1);
    expect(said[0]!.msg).toMatch(/trustProxy/);
  });

  it('says nothing when trustProxy says how many proxies there are', async () => {
    t = await startTestServer(kind, { config: { server: { trustProxy: 1 } } });
    await api(t.url, 'GET', '/__api__/server_settings', { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(warnings(t)).toEqual([]);
  });
});
