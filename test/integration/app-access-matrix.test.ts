import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { handshake } from '../helpers/websocket.ts';

/** The status of a WebSocket handshake: 101 when the upgrade went through to the app. */
// Who may use a real Shiny app (page and WebSocket) and a real Plumber API: every role x
// access type, by session cookie (a browser) and by API key (an API consumer).
describe.each(DATABASES)('access to a Shiny app and a Plumber API on %s', (kind) => {
  let t: TestServer;
  let guid: string;
  let apiGuid: string;
  const people: Record<string, { key: string; cookie: string } | undefined> = {};
  beforeAll(async () => {
    t = await startTestServer(kind);
    const owner = await t.createUser('owner', 'publisher');
    const d = await deployBundle(t.url, owner.key, 'ws-shiny', fixture('r-shiny.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    guid = d.content.guid;
    const plumber = await deployBundle(t.url, owner.key, 'ws-plumber', fixture('r-plumber.tar.gz'));
    expect(plumber.task.code, plumber.log).toBe(0);
    apiGuid = plumber.content.guid;
    const listed = await t.createUser('listed', 'viewer');
    for (const g of [guid, apiGuid]) {
      await api(t.url, 'POST', `/__api__/v1/content/${g}/permissions`, {
        key: owner.key,
        body: { principal_guid: listed.user.guid, principal_type: 'user', role: 'viewer' },
      });
    }
    const unlisted = await t.createUser('unlisted', 'publisher');
    const admin = await t.createUser('chief', 'administrator');
    for (const [name, u] of Object.entries({ owner, listed, unlisted, admin })) {
      const b = new BrowserSession(t.url);
      await b.login(u.user.username, u.password);
      people[name] = { key: u.key, cookie: `lectern_session=${b.cookies.get('lectern_session')}` };
    }
    people.anonymous = undefined;
  });
  afterAll(async () => t?.close());

  // [person, access type, expected status]: 101 opens, 401 must log in, 404 may not see.
  const matrix: Array<[string, string, number]> = [];
  const sees: Record<string, string[]> = {
    acl: ['owner', 'listed', 'admin'],
    logged_in: ['owner', 'listed', 'unlisted', 'admin'],
    all: ['owner', 'listed', 'unlisted', 'admin', 'anonymous'],
  };
  for (const access of ['acl', 'logged_in', 'all']) {
    for (const person of ['owner', 'listed', 'unlisted', 'admin', 'anonymous']) {
      matrix.push([person, access, sees[access]!.includes(person) ? 101 : person === 'anonymous' ? 401 : 404]);
    }
  }

  it.each(matrix)('%s on %s content → %i', async (person, access, expected) => {
    const owner = people.owner!;
    for (const g of [guid, apiGuid]) await api(t.url, 'PATCH', `/__api__/v1/content/${g}`, { key: owner.key, body: { access_type: access } });
    const p = people[person];
    // HTTP: the Shiny page and the Plumber API, by cookie on the content origin and by key.
    const httpExpected = expected === 101 ? 200 : expected;
    for (const [g, path] of [
      [guid, ''],
      [apiGuid, 'echo?msg=hi'],
    ] as const) {
      const cookieRes = await fetch(`${t.contentUrl}/content/${g}/${path}`, {
        headers: { accept: 'application/json', ...(p ? { cookie: p.cookie } : {}) },
        redirect: 'manual',
      });
      expect(cookieRes.status, `cookie GET ${path || 'page'}`).toBe(httpExpected);
      if (p) {
        const keyRes = await fetch(`${t.url}/content/${g}/${path}`, { headers: { authorization: `Key ${p.key}` }, redirect: 'manual' });
        expect(keyRes.status, `key GET ${path || 'page'}`).toBe(httpExpected);
        if (httpExpected === 200 && path) expect(JSON.stringify(await keyRes.json())).toContain('hi');
      }
    }
    // A browser: the session cookie, on the content origin, from the content origin.
    const viaCookie = await handshake(`${t.contentUrl}/content/${guid}/websocket/`, { origin: t.contentUrl, ...(p ? { cookie: p.cookie } : {}) });
    expect(viaCookie, 'cookie').toBe(expected);
    // An API client: the key, on Lectern's origin.
    if (p) expect(await handshake(`${t.url}/content/${guid}/websocket/`, { authorization: `Key ${p.key}` }), 'key').toBe(expected);
  });

  it('refuses a cookie-authenticated WebSocket opened from another site', async () => {
    await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: people.owner!.key, body: { access_type: 'acl' } });
    expect(await handshake(`${t.contentUrl}/content/${guid}/websocket/`, { origin: 'http://evil.example', cookie: people.owner!.cookie })).toBe(403);
    expect(await handshake(`${t.contentUrl}/content/${guid}/websocket/`, { authorization: 'Key ' + 'x'.repeat(32) })).toBe(401);
  });
});
