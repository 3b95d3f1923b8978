import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

/** A logged-in browser session that calls the API with its CSRF token, as the pages' scripts do. */
async function sessionOf(t: TestServer, username: string, password: string) {
  const b = new BrowserSession(t.url);
  await b.login(username, password);
  const csrf = BrowserSession.csrfFrom((await b.get('/account')).text);
  return async (method: string, path: string, json?: unknown) => {
    const res = await b.request(method, path, { json: json ?? {}, headers: { 'x-csrf-token': csrf } });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : undefined };
  };
}

describe.each(DATABASES)('API keys on %s', (kind) => {
  let t: TestServer;
  afterEach(async () => t?.close());

  it('are created once, stored only as a hash, used, listed and revoked', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const browser = await sessionOf(t, 'alice', alice.password);

    const created = await browser('POST', '/__api__/v1/user/api_keys', { name: 'laptop' });
    expect(created.status).toBe(201);
    const secret: string = created.body.key;
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(created.body).toMatchObject({ name: 'laptop', hint: secret.slice(-4) });

    // Stored hashed: the secret appears nowhere in the table, its SHA-256 does.
    const rows = await t.server.ctx.db.knex('api_keys').select('*');
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(rows.map((r: { key_hash: string }) => r.key_hash)).toContain(createHash('sha256').update(secret).digest('hex'));

    // Both header spellings authenticate.
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: secret })).body.username).toBe('alice');
    const rsc = await api(t.url, 'GET', '/__api__/v1/user', { headers: { 'x-rsc-authorization': secret } });
    expect(rsc.body.username).toBe('alice');

    // Listing never shows a secret.
    const list = await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: alice.key });
    expect(list.body.map((k: { name: string }) => k.name)).toEqual(['test', 'laptop']);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    const laptop = list.body.find((k: { name: string }) => k.name === 'laptop');
    expect(laptop.last_used_time).not.toBeNull();

    const del = await api(t.url, 'DELETE', `/__api__/v1/user/api_keys/${laptop.id}`, { key: alice.key });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({});
    const revoked = await api(t.url, 'GET', '/__api__/v1/user', { key: secret });
    expect(revoked.status).toBe(401);
    expect(revoked.body).toEqual({ code: 30, error: 'The specified API key is not valid.', payload: null });

    const actions = (await t.server.ctx.audit.recent(20)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['key.create', 'key.delete']));
  });

  it('answers a bad key with 401 code 30 even on anonymous endpoints', async () => {
    t = await startTestServer(kind);
    for (const path of ['/__api__/v1/user', '/__api__/users/current', '/__api__/server_settings']) {
      const res = await api(t.url, 'GET', path, { key: 'x'.repeat(32) });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body.code).toBe(30);
      expect(res.body.payload).toBeNull();
    }
    const none = await api(t.url, 'GET', '/__api__/v1/user');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe(24);
  });

  it("cannot be used or deleted by another user, and die with their owner's lock", async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const bob = await t.createUser('bob', 'publisher');
    const [aliceKey] = (await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: alice.key })).body;
    const theft = await api(t.url, 'DELETE', `/__api__/v1/user/api_keys/${aliceKey.id}`, { key: bob.key });
    expect(theft.status).toBe(404);
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: alice.key })).status).toBe(200);

    const lock = await api(t.url, 'POST', `/__api__/v1/users/${alice.user.guid}/lock`, { key: t.admin.key, body: { locked: true } });
    expect(lock.status).toBe(200);
    const locked = await api(t.url, 'GET', '/__api__/v1/user', { key: alice.key });
    expect(locked.status).toBe(401);
    expect(locked.body.code).toBe(30);
    expect(locked.body.error).toMatch(/locked/);
    await api(t.url, 'POST', `/__api__/v1/users/${alice.user.guid}/lock`, { key: t.admin.key, body: { locked: false } });
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: alice.key })).status).toBe(200);
  });

  it('are managed from the landing page, with CSRF protection on the forms', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const b = new BrowserSession(t.url);
    await b.login('alice', alice.password);
    const made = await b.submit('/account', '/keys', { name: 'from the browser' });
    expect(made.status).toBe(201);
    const secret = /<pre id="new-key">([A-Za-z0-9]{32})<\/pre>/.exec(made.text)![1]!;
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: secret })).body.username).toBe('alice');
    // Shown once: the page does not show it again.
    expect((await b.get('/account')).text).not.toContain(secret);

    const noToken = await b.request('POST', '/keys', { form: { name: 'forged' } });
    expect(noToken.status).toBe(403);

    // The session cookie alone does not let a script change things through the API.
    const cookieOnly = await b.request('POST', '/__api__/v1/user/api_keys', { json: { name: 'x' } });
    expect(cookieOnly.status).toBe(403);
    expect(JSON.parse(cookieOnly.text)).toMatchObject({ code: 22, payload: null });
    const csrf = BrowserSession.csrfFrom((await b.get('/account')).text);
    const withToken = await b.request('POST', '/__api__/v1/user/api_keys', { json: { name: 'x' }, headers: { 'x-csrf-token': csrf } });
    expect(withToken.status).toBe(201);
  });
  it('cannot be made with a key: only from a browser session or the CLI', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    for (const key of [alice.key, t.admin.key]) {
      const minted = await api(t.url, 'POST', '/__api__/v1/user/api_keys', { key, body: { name: 'minted' } });
      expect(minted.status).toBe(403);
      expect(minted.body).toMatchObject({ code: 22, payload: null });
      expect(minted.body.error).toMatch(/browser|session/i);
      expect(JSON.stringify(minted.body)).not.toMatch(/[A-Za-z0-9]{32}/);
    }
    const names = (await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: alice.key })).body.map((k: { name: string }) => k.name);
    expect(names).toEqual(['test']);
    // The same key still lists and revokes keys.
    const [own] = (await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: alice.key })).body;
    expect((await api(t.url, 'DELETE', `/__api__/v1/user/api_keys/${own.id}`, { key: alice.key })).status).toBe(200);
  });

  it('may carry an expiry, shown in listings; an expired key is refused like an unknown one', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const browser = await sessionOf(t, 'alice', alice.password);

    // Sent with an offset, answered in UTC to the second like every Connect timestamp.
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
    const shown = at.toISOString().replace('.000Z', 'Z');
    const withOffset = new Date(at.getTime() + 2 * 3_600_000).toISOString().replace('.000Z', '+02:00');
    const made = await browser('POST', '/__api__/v1/user/api_keys', { name: 'temporary', expires_at: withOffset });
    expect(made.status).toBe(201);
    expect(made.body.expires_at).toBe(shown);
    const forever = await browser('POST', '/__api__/v1/user/api_keys', { name: 'forever' });
    expect(forever.body.expires_at).toBeNull();
    const listed = (await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: alice.key })).body;
    expect(listed.find((k: { name: string }) => k.name === 'temporary').expires_at).toBe(shown);
    expect(listed.find((k: { name: string }) => k.name === 'test').expires_at).toBeNull();
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: made.body.key })).status).toBe(200);

    // Its time comes (the clock moved on): refused at once, as a key that does not exist.
    await t.server.ctx.db
      .knex('api_keys')
      .where({ guid: made.body.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const expired = await api(t.url, 'GET', '/__api__/v1/user', { key: made.body.key });
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ code: 30, error: 'The specified API key is not valid.', payload: null });
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: forever.body.key })).status).toBe(200);

    // Bad expiries are the client's mistake, in Connect's shape.
    for (const expires_at of [12345, 'next tuesday', true, new Date(Date.now() - 60_000).toISOString()]) {
      const bad = await browser('POST', '/__api__/v1/user/api_keys', { name: 'bad', expires_at });
      expect(bad.status, String(expires_at)).toBe(400);
      expect(bad.body).toMatchObject({ code: expect.any(Number), error: expect.stringMatching(/expires_at/) });
      expect(bad.body).toHaveProperty('payload');
    }
    expect((await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: alice.key })).body.map((k: { name: string }) => k.name)).not.toContain('bad');
  });
});
