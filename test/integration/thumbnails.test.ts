import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { makeBundle, staticBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// An app that answers every path itself: a thumbnail it answered would be the app's text.
const NODE_APP = `
require('http').createServer((req, res) => res.end('from the app: ' + req.url)).listen(Number(process.env.PORT), process.env.HOST);
`;

const SVG = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" onload="alert(document.cookie)">
  <script>fetch('/__api__/me')</script>
  <rect width="16" height="16" fill="#2c5e8c"/>
</svg>
`;
const SVG_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'";
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), Buffer.alloc(64, 7)]);

type Person = Awaited<ReturnType<TestServer['createUser']>>;

describe.each(DATABASES)('content thumbnails on %s', (kind) => {
  let t: TestServer;
  let owner: Person;
  let listed: Person;
  let stranger: Person;
  let site: string;
  let app: string;
  let png: Buffer;

  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false } } as never });
    owner = await t.createUser('owner', 'publisher');
    listed = await t.createUser('listed', 'viewer');
    stranger = await t.createUser('stranger', 'viewer');
    const s = await deployBundle(t.url, owner.key, 'thumb-site', await staticBundle('<p>the site</p>'));
    expect(s.task.code, s.log).toBe(0);
    site = s.content.guid;
    const a = await deployBundle(t.url, owner.key, 'thumb-app', await makeBundle({ 'server.js': NODE_APP }, { appmode: 'nodejs', entrypoint: 'server.js' }));
    expect(a.task.code, a.log).toBe(0);
    app = a.content.guid;
    for (const guid of [site, app]) {
      await api(t.url, 'POST', `/__api__/v1/content/${guid}/permissions`, {
        key: owner.key,
        body: { principal_guid: listed.user.guid, principal_type: 'user', role: 'viewer' },
      });
    }
    // connectapi's own test uploads the server's favicon, downloaded to a file without an extension.
    const icon = await fetch(`${t.url}/connect/__favicon__`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/png');
    png = Buffer.from(await icon.arrayBuffer());
  });
  afterAll(async () => t?.close());

  /** PUT raw bytes, as connectapi's httr::upload_file() sends them. */
  const put = (guid: string, body: Buffer | string, contentType?: string, key = owner.key) =>
    fetch(`${t.url}/__api__/v1/content/${guid}/thumbnail`, {
      method: 'PUT',
      headers: { authorization: `Key ${key}`, ...(contentType ? { 'content-type': contentType } : {}) },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
  const thumbnail = async (base: string, guid: string, headers: Record<string, string>) => {
    const res = await fetch(`${base}/content/${guid}/__thumbnail__`, { headers, redirect: 'manual' });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const byKey = (guid: string, key = owner.key) => thumbnail(t.url, guid, { authorization: `Key ${key}` });

  it('round-trips a PNG byte for byte, with its exact type, to API keys and browser sessions', async () => {
    const set = await put(site, png, 'application/octet-stream');
    expect(set.status).toBe(204);

    for (const who of [owner, listed]) {
      const got = await byKey(site, who.key);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/png');
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(got.body.equals(png)).toBe(true);
    }
    // A browser: the session cookie, on the content origin.
    const browser = new BrowserSession(t.url);
    await browser.login('listed', listed.password);
    const viaCookie = await thumbnail(t.contentUrl, site, { cookie: `lectern_session=${browser.cookies.get('lectern_session')}` });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.headers.get('content-type')).toBe('image/png');
    expect(viaCookie.body.equals(png)).toBe(true);

    // A new image replaces it, typed by its bytes, not by the header sent with it.
    expect((await put(site, JPEG, 'image/png')).status).toBe(204);
    const jpeg = await byKey(site);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    expect(jpeg.body.equals(JPEG)).toBe(true);
    expect((await put(site, png, 'image/png')).status).toBe(204);
  });

  it('answers 204 when there is none, and a second DELETE with 404 code 17', async () => {
    const d = await deployBundle(t.url, owner.key, 'thumb-none', await staticBundle('<p>plain</p>'));
    const guid = d.content.guid;
    const none = await byKey(guid);
    expect(none.status).toBe(204);
    expect(none.body.length).toBe(0);

    expect((await put(guid, png)).status).toBe(204);
    expect((await byKey(guid)).status).toBe(200);
    const first = await api(t.url, 'DELETE', `/__api__/v1/content/${guid}/thumbnail`, { key: owner.key });
    expect(first.status).toBe(204);
    const second = await api(t.url, 'DELETE', `/__api__/v1/content/${guid}/thumbnail`, { key: owner.key });
    expect(second.status).toBe(404);
    expect(second.body).toMatchObject({ code: 17, error: 'The requested item could not be removed because it does not exist.' });
    expect(second.body).toHaveProperty('payload');
    expect((await byKey(guid)).status).toBe(204);

    // Content never deployed has no thumbnail to serve, even with one set.
    const draft = await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: 'thumb-undeployed' } });
    expect((await put(draft.body.guid, png)).status).toBe(204);
    expect((await byKey(draft.body.guid)).status).toBe(404);

    const actions = (await t.server.ctx.audit.recent(200)).map((e) => e.action);
    expect(actions).toContain('thumbnail.update');
    expect(actions).toContain('thumbnail.delete');
  });

  it('refuses what is not an image whatever its Content-Type, and more than 2 MB', async () => {
    const d = await deployBundle(t.url, owner.key, 'thumb-refused', await staticBundle('<p>plain</p>'));
    const guid = d.content.guid;
    for (const [body, type] of [
      ['<!DOCTYPE html><html><body><script>alert(1)</script></body></html>', 'image/png'],
      ['<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>', 'image/svg+xml'],
      ['<svg><script>not closed', 'image/svg+xml'],
      ['just some text', 'text/plain'],
      ['', 'image/png'],
      [Buffer.from([0x89, 0x50, 0x4e]), 'image/png'],
    ] as const) {
      const res = await put(guid, body, type);
      expect(res.status, String(body)).toBe(400);
      expect(await res.json()).toMatchObject({ code: expect.any(Number), error: expect.stringContaining('PNG') });
    }
    // 2 MB is the most; past it, a 413 in Connect's shape, and nothing stored.
    const big = Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024 + 1 - png.length)]);
    const tooBig = await put(guid, big, 'image/png');
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ code: expect.any(Number), error: expect.any(String), payload: null });
    const atLimit = Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024 - png.length)]);
    expect((await put(guid, atLimit, 'image/png')).status).toBe(204);
    expect((await byKey(guid)).body.equals(atLimit)).toBe(true);
    await api(t.url, 'DELETE', `/__api__/v1/content/${guid}/thumbnail`, { key: owner.key });
    expect((await byKey(guid)).status).toBe(204);
  });

  it('serves an SVG as an image that cannot run its scripts', async () => {
    const d = await deployBundle(t.url, owner.key, 'thumb-svg', await staticBundle('<p>plain</p>'));
    expect((await put(d.content.guid, SVG, 'application/octet-stream')).status).toBe(204);
    for (const base of [t.url, t.contentUrl]) {
      const got = await thumbnail(base, d.content.guid, { authorization: `Key ${owner.key}` });
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/svg+xml');
      expect(got.headers.get('content-security-policy')).toBe(SVG_POLICY);
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(got.body.toString('utf8')).toBe(SVG);
    }
    // A raster image gets no such policy: it cannot script.
    expect((await byKey(site)).headers.get('content-security-policy') ?? '').not.toContain('sandbox');
  });

  it('lets only managers set or remove it, and shows it only to who may view the content', async () => {
    // Seen but not managed: 403. Not seen: 404, as for no content at all.
    expect((await put(site, png, 'image/png', listed.key)).status).toBe(403);
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${site}/thumbnail`, { key: listed.key })).status).toBe(403);
    expect((await put(site, png, 'image/png', stranger.key)).status).toBe(404);
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${site}/thumbnail`, { key: stranger.key })).status).toBe(404);
    expect((await put('not-a-guid', png, 'image/png')).status).toBe(404);

    const hidden = await byKey(site, stranger.key);
    expect(hidden.status).toBe(404);
    expect(hidden.body.equals(png)).toBe(false);
    // Nobody logged in: log in first (401 for a program, the login page for a browser).
    const anonymous = await thumbnail(t.contentUrl, site, { accept: 'application/json' });
    expect(anonymous.status).toBe(401);
    expect((await thumbnail(t.contentUrl, site, { accept: 'text/html' })).status).toBe(302);
    // Open to everyone: then to everyone.
    await api(t.url, 'PATCH', `/__api__/v1/content/${site}`, { key: owner.key, body: { access_type: 'all' } });
    const open = await thumbnail(t.contentUrl, site, {});
    expect(open.status).toBe(200);
    expect(open.body.equals(png)).toBe(true);
    await api(t.url, 'PATCH', `/__api__/v1/content/${site}`, { key: owner.key, body: { access_type: 'acl' } });
    expect((await thumbnail(t.contentUrl, site, { accept: 'application/json' })).status).toBe(401);
  });

  it("serves a running app's thumbnail itself, never the app, at /content/ and at a vanity path", async () => {
    const page = await fetch(`${t.url}/content/${app}/hello`, { headers: { authorization: `Key ${owner.key}` } });
    expect(await page.text()).toBe('from the app: /hello');
    const none = await byKey(app);
    expect(none.status).toBe(204);
    expect(none.body.toString()).not.toContain('from the app');

    expect((await put(app, png)).status).toBe(204);
    const set = await byKey(app, listed.key);
    expect(set.status).toBe(200);
    expect(set.body.equals(png)).toBe(true);
    expect((await byKey(app, stranger.key)).status).toBe(404);

    expect((await api(t.url, 'PUT', `/__api__/v1/content/${app}/vanity`, { key: owner.key, body: { path: '/thumb-app/' } })).status).toBe(200);
    expect((await api(t.url, 'PUT', `/__api__/v1/content/${site}/vanity`, { key: owner.key, body: { path: '/thumb-site/' } })).status).toBe(200);
    for (const [path, expected] of [
      ['/thumb-app/__thumbnail__', png],
      ['/thumb-site/__thumbnail__', png],
    ] as const) {
      for (const base of [t.url, t.contentUrl]) {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Key ${listed.key}` }, redirect: 'manual' });
        expect(res.status, `${base}${path}`).toBe(200);
        expect(res.headers.get('content-type')).toBe('image/png');
        expect(Buffer.from(await res.arrayBuffer()).equals(expected)).toBe(true);
      }
      const hidden = await fetch(`${t.contentUrl}${path}`, { headers: { authorization: `Key ${stranger.key}` }, redirect: 'manual' });
      expect(hidden.status).toBe(404);
    }
    // The app still gets everything else.
    const other = await fetch(`${t.contentUrl}/thumb-app/__thumbnail__x`, { headers: { authorization: `Key ${owner.key}` } });
    expect(await other.text()).toBe('from the app: /__thumbnail__x');
  });
});
