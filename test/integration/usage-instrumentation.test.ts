import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { shinyRoundTrip } from '../helpers/shiny.ts';
import { TestClock } from '../helpers/test-clock.ts';

const DAY = 24 * 3600 * 1000;

/** The status of a WebSocket handshake sent with version 12, which the relay refuses. */
function refusedUpgrade(url: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      headers: {
        authorization: `Key ${key}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '12',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error('the handshake was accepted'));
    });
    req.on('error', reject);
    req.end();
  });
}

// Usage instrumentation (connect-api-next.md §7): what the proxy records of real requests to a
// deployed static site and a real Shiny session, and the three listings' filters and paging.
// Tests wait for the batch by flushing it, never by sleeping.
describe.each(DATABASES)('usage instrumentation on %s', (kind) => {
  let t: TestServer;
  let clock: TestClock;
  let alice: Awaited<ReturnType<TestServer['createUser']>>;
  let bob: Awaited<ReturnType<TestServer['createUser']>>;
  let site: { guid: string; content_url: string };
  let other: { guid: string; content_url: string };
  const flush = () => t.server.usage!.flush();

  beforeAll(async () => {
    clock = new TestClock(new Date());
    t = await startTestServer(kind, { clock: clock.now, config: { reports: QUIET_SCHEDULER } as never });
    alice = await t.createUser('alice', 'publisher');
    bob = await t.createUser('bob', 'publisher');
    const d = await deployBundle(t.url, alice.key, 'usage-site', fixture('py-static-html.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    site = d.content;
    const o = await deployBundle(t.url, bob.key, 'usage-other', fixture('py-static-html.tar.gz'));
    expect(o.task.code, o.log).toBe(0);
    other = o.content;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('one visit for one GET of a static page, none for its image; a hit for each', async () => {
    const page = await get(site.content_url, alice.key, { 'user-agent': 'usage-test/1' });
    expect(page.status).toBe(200);
    const logo = await get(`${site.content_url}img/logo.png`, alice.key, { 'user-agent': 'usage-test/1' });
    expect(logo.status).toBe(200);
    await flush();

    const res = await api(t.url, 'GET', `/__api__/v1/instrumentation/content/visits?content_guid=${site.guid}`, { key: alice.key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['paging', 'results']);
    expect(res.body.results).toEqual([
      {
        content_guid: site.guid,
        user_guid: alice.user.guid,
        variant_key: null,
        rendering_id: null,
        bundle_id: expect.stringMatching(/^\d+$/),
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        data_version: 3,
        path: '/',
        user_agent: 'usage-test/1',
      },
    ]);
    expect(res.body.paging.cursors.next).toBeNull();
    expect(res.body.paging.next).toBeNull();

    const hits = await api(t.url, 'GET', `/__api__/v1/instrumentation/content/hits?content_guid=${site.guid}`, { key: alice.key });
    expect(hits.status).toBe(200);
    expect(hits.body.map((h: { data: { path: string } }) => h.data.path)).toEqual(['/', '/img/logo.png']);
    expect(hits.body[0]).toEqual({
      id: expect.stringMatching(/^\d+$/),
      user_guid: alice.user.guid,
      content_guid: site.guid,
      timestamp: expect.any(String),
      data: { path: '/', query: '', user_agent: 'usage-test/1', sec_fetch_dest: null, sec_fetch_site: null },
    });
    const unknown = await api(t.url, 'GET', `/__api__/v1/instrumentation/content/hits?content_guid=00000000-0000-4000-8000-000000000000`, {
      key: t.admin.key,
    });
    expect(unknown.body).toEqual([]);

    // The visits' user_agent filter: contained, ignoring case; LIKE's own wildcards match themselves.
    const byAgent = (ua: string) =>
      api(t.url, 'GET', `/__api__/v1/instrumentation/content/visits?content_guid=${site.guid}&user_agent=${encodeURIComponent(ua)}`, { key: alice.key });
    expect((await byAgent('USAGE-test')).body.results).toHaveLength(1);
    expect((await byAgent('curl')).body.results).toEqual([]);
    expect((await byAgent('usage%test')).body.results).toEqual([]);
    expect((await byAgent('usage_test')).body.results).toEqual([]);
    // Sessions have no user agent: the filter is ignored there, not an error.
    expect((await api(t.url, 'GET', `/__api__/v1/instrumentation/shiny/usage?user_agent=x`, { key: alice.key })).status).toBe(200);
  });

  it('pages by cursor with absolute links that keep the filters, and filters by guid, version and time', async () => {
    for (let i = 0; i < 3; i++) expect((await get(`${other.content_url}?n=${i}`, bob.key)).status).toBe(200);
    await flush();
    const base = `/__api__/v1/instrumentation/content/visits?content_guid=${site.guid}%7C${other.guid}&limit=2`;
    const first = await api(t.url, 'GET', base, { key: t.admin.key });
    expect(first.status).toBe(200);
    expect(first.body.results).toHaveLength(2);
    expect(first.body.results[0].content_guid).toBe(site.guid);
    const next = first.body.paging.next as string;
    expect(next.startsWith(`${t.url}/__api__/v1/instrumentation/content/visits?`)).toBe(true);
    const nextUrl = new URL(next);
    expect(nextUrl.searchParams.get('content_guid')).toBe(`${site.guid}|${other.guid}`);
    expect(nextUrl.searchParams.get('limit')).toBe('2');
    expect(nextUrl.searchParams.get('next')).toBe(first.body.paging.cursors.next);
    const second = await api(next, 'GET', '', { key: t.admin.key });
    expect(second.body.results).toHaveLength(2);
    expect(second.body.results.every((v: { content_guid: string }) => v.content_guid === other.guid)).toBe(true);
    expect(second.body.paging.next).toBeNull();
    expect(second.body.paging.cursors.next).toBeNull();
    expect(second.body.paging.previous).toMatch(/^http:\/\//);
    for (const link of Object.values(second.body.paging)) expect(link).not.toBe('');

    const desc = await api(t.url, 'GET', `${base}&asc_order=false`, { key: t.admin.key });
    expect(desc.body.results.map((v: { content_guid: string }) => v.content_guid)).toEqual([other.guid, other.guid]);

    const newer = await api(t.url, 'GET', `${base}&min_data_version=4`, { key: t.admin.key });
    expect(newer.body.results).toEqual([]);
    const future = new Date(Date.now() + DAY).toISOString();
    const later = await api(t.url, 'GET', `${base}&from=${future}`, { key: t.admin.key });
    expect(later.body.results).toEqual([]);
    const until = await api(t.url, 'GET', `${base.replace('limit=2', 'limit=10')}&to=${future}`, { key: t.admin.key });
    expect(until.body.results, JSON.stringify(until.body)).toHaveLength(4);
    const bad = await api(t.url, 'GET', `/__api__/v1/instrumentation/content/visits?content_guid=nope`, { key: t.admin.key });
    expect(bad.status).toBe(400);
  });

  it('administrators see all usage, publishers their own items, viewers none', async () => {
    const viewer = await t.createUser('vera', 'viewer');
    for (const path of ['content/visits', 'shiny/usage', 'content/hits']) {
      expect((await api(t.url, 'GET', `/__api__/v1/instrumentation/${path}`, { key: viewer.key })).status).toBe(403);
    }
    const mine = await api(t.url, 'GET', '/__api__/v1/instrumentation/content/visits?limit=100', { key: bob.key });
    expect(mine.body.results.length).toBeGreaterThan(0);
    expect(mine.body.results.every((v: { content_guid: string }) => v.content_guid === other.guid)).toBe(true);
    const hits = await api(t.url, 'GET', '/__api__/v1/instrumentation/content/hits', { key: bob.key });
    expect(hits.body.every((h: { content_guid: string }) => h.content_guid === other.guid)).toBe(true);
    const all = await api(t.url, 'GET', '/__api__/v1/instrumentation/content/visits?limit=100', { key: t.admin.key });
    expect(new Set(all.body.results.map((v: { content_guid: string }) => v.content_guid))).toEqual(new Set([site.guid, other.guid]));
  });

  it('one Shiny usage row for one session, ended after the WebSocket closed; none for a refused handshake', async () => {
    const d = await deployBundle(t.url, alice.key, 'usage-shiny', fixture('r-shiny.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    // A handshake the relay refuses (a WebSocket version nobody speaks) never joined the app: no session.
    expect(await refusedUpgrade(`${d.content.content_url}websocket/`, alice.key)).toBe(400);
    const before = new Date(Date.now() - 1000);
    expect(await shinyRoundTrip(d.content.content_url, { authorization: `Key ${alice.key}` }, 21)).toBe('42');
    const path = `/__api__/v1/instrumentation/shiny/usage?content_guid=${d.content.guid}`;
    // The relay ends the session once both sides have closed: flush until it is written ended.
    await vi.waitFor(
      async () => {
        await flush();
        const res = await api(t.url, 'GET', path, { key: alice.key });
        expect(res.body.results).toHaveLength(1);
        expect(res.body.results[0].ended).not.toBeNull();
      },
      { timeout: 15_000, interval: 100 },
    );
    const res = await api(t.url, 'GET', path, { key: alice.key });
    expect(Object.keys(res.body).sort()).toEqual(['paging', 'results']);
    const [row] = res.body.results;
    expect(row).toEqual({ content_guid: d.content.guid, user_guid: alice.user.guid, started: expect.any(String), ended: expect.any(String), data_version: 1 });
    expect(Date.parse(row.started)).toBeGreaterThanOrEqual(Math.floor(before.getTime() / 1000) * 1000);
    expect(Date.parse(row.started)).toBeLessThanOrEqual(Date.parse(row.ended));
  });

  it('a visit for each request to an API (its answers are not pages)', async () => {
    const d = await deployBundle(t.url, alice.key, 'usage-plumber', fixture('r-plumber.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    expect((await get(`${d.content.content_url}echo?msg=hi`, alice.key)).status).toBe(200);
    await flush();
    const res = await api(t.url, 'GET', `/__api__/v1/instrumentation/content/visits?content_guid=${d.content.guid}`, { key: alice.key });
    expect(res.body.results.map((v: { path: string }) => v.path)).toEqual(['/echo']);
  });

  it("a report's visit names the variant and rendering it showed", async () => {
    const d = await deployBundle(t.url, alice.key, 'usage-report', fixture('r-rmd-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    expect((await get(d.content.content_url, alice.key)).status).toBe(200);
    await flush();
    const res = await api(t.url, 'GET', `/__api__/v1/instrumentation/content/visits?content_guid=${d.content.guid}`, { key: alice.key });
    expect(res.body.results).toHaveLength(1);
    expect(res.body.results[0]).toMatchObject({ variant_key: expect.stringMatching(/^\w+$/), rendering_id: expect.stringMatching(/^\d+$/) });
  });

  it("prunes usage past its retention in the scheduler's daily run", async () => {
    const old = (days: number) => new Date(clock.now().getTime() - days * DAY);
    const hit = (time: Date) => ({
      contentGuid: site.guid,
      userGuid: null,
      time,
      path: '/old',
      query: '',
      userAgent: null,
      secFetchDest: null,
      secFetchSite: null,
    });
    const visit = (time: Date) => ({
      contentGuid: site.guid,
      userGuid: null,
      variantKey: null,
      renderingId: null,
      bundleId: null,
      path: '/old',
      userAgent: null,
      time,
      dataVersion: 3,
    });
    await t.server.ctx.repos.usage.writeBatch({ visits: [visit(old(400)), visit(old(300))], hits: [hit(old(400))], sessions: [], ends: [] });
    const count = async () =>
      (await api(t.url, 'GET', `/__api__/v1/instrumentation/content/visits?content_guid=${site.guid}&limit=500`, { key: t.admin.key })).body.results.filter(
        (v: { path: string }) => v.path === '/old',
      ).length;
    expect(await count()).toBe(2);
    // The first run was at start; the next comes a day later.
    clock.advance(DAY + 1000);
    await t.server.scheduler.tick();
    await t.server.scheduler.settled();
    expect(await count()).toBe(1);
    const hits = await api(t.url, 'GET', `/__api__/v1/instrumentation/content/hits?content_guid=${site.guid}`, { key: t.admin.key });
    expect(hits.body.some((h: { data: { path: string } }) => h.data.path === '/old')).toBe(false);
  });

  it('writes what it holds when the server stops, and reads it after a restart', async () => {
    const first = await startTestServer(kind, { config: { reports: QUIET_SCHEDULER } as never });
    let second: TestServer | undefined;
    try {
      const d = await deployBundle(first.url, first.admin.key, 'usage-stop', fixture('py-static-html.tar.gz'));
      expect(d.task.code, d.log).toBe(0);
      expect((await get(d.content.content_url, first.admin.key)).status).toBe(200);
      // No flush: the batch is still waiting for its second when the server stops.
      await first.stop();
      second = await startTestServer(kind, { db: first.db, config: { reports: QUIET_SCHEDULER } as never });
      const res = await api(second.url, 'GET', `/__api__/v1/instrumentation/content/visits?content_guid=${d.content.guid}`, { key: second.admin.key });
      expect(res.body.results).toHaveLength(1);
    } finally {
      await (second ?? first).close();
    }
  });
});
