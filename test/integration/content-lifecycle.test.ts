import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const NAME = /^[A-Za-z0-9_-]{3,64}$/;

describe.each(DATABASES)('content lifecycle: names, owners, locks (%s)', (kind) => {
  let t: TestServer;
  let pub: Awaited<ReturnType<TestServer['createUser']>>;
  let pub2: Awaited<ReturnType<TestServer['createUser']>>;
  let viewer: Awaited<ReturnType<TestServer['createUser']>>;
  beforeAll(async () => {
    t = await startTestServer(kind);
    pub = await t.createUser('lc-pub', 'publisher');
    pub2 = await t.createUser('lc-pub2', 'publisher');
    viewer = await t.createUser('lc-viewer', 'viewer');
  });
  afterAll(async () => t?.close());

  const create = (key: string, body: unknown) => api(t.url, 'POST', '/__api__/v1/content', { key, body });

  it('creates content without a name: one from the title, unique, else content-xxxxxxxx', async () => {
    const a = await create(pub.key, { title: 'Sales Dashboard' });
    expect(a.status).toBe(201);
    expect(a.body.name).toBe('sales_dashboard');
    // Names are unique per server: another owner's same title gets another valid name.
    const b = await create(pub2.key, { title: 'Sales Dashboard' });
    expect(b.status).toBe(201);
    expect(b.body.name).toMatch(/^sales_dashboard-[0-9a-f]{8}$/);
    for (const body of [{}, { title: '!!' }]) {
      const c = await create(pub.key, body);
      expect(c.status).toBe(201);
      expect(c.body.name).toMatch(/^content-[0-9a-f]{8}$/);
    }
    const long = await create(pub.key, { title: 'word '.repeat(40) });
    expect(long.body.name).toMatch(NAME);
    // A name given is still checked and still unique.
    expect((await create(pub.key, { name: 'x' })).status).toBe(400);
    expect((await create(pub.key, { name: 'sales_dashboard' })).status).toBe(409);
  });

  it('answers PATCH {} with the item unchanged', async () => {
    const c = (await create(pub.key, { name: 'patch-nothing', title: 'Same' })).body;
    const res = await api(t.url, 'PATCH', `/__api__/v1/content/${c.guid}`, { key: pub.key, body: {} });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(c);
  });

  it('moves ownership for administrators only, to publishers and administrators only, audited', async () => {
    const c = (await create(pub.key, { name: 'handed-over' })).body;
    const path = `/__api__/v1/content/${c.guid}`;
    const refused = await api(t.url, 'PATCH', path, { key: pub.key, body: { owner_guid: pub2.user.guid } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 22, error: expect.any(String) });
    const toViewer = await api(t.url, 'PATCH', path, { key: t.admin.key, body: { owner_guid: viewer.user.guid } });
    expect(toViewer.status).toBe(400);
    expect(toViewer.body).toMatchObject({ code: 156, error: expect.stringContaining('publisher') });
    const unknown = await api(t.url, 'PATCH', path, { key: t.admin.key, body: { owner_guid: '00000000-0000-4000-8000-000000000000' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 4 });
    // Nothing was half-written by the refused requests.
    expect((await api(t.url, 'GET', path, { key: t.admin.key })).body.owner_guid).toBe(pub.user.guid);

    const moved = await api(t.url, 'PATCH', path, { key: t.admin.key, body: { owner_guid: pub2.user.guid, title: 'New home' } });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ owner_guid: pub2.user.guid, title: 'New home' });
    expect((await api(t.url, 'GET', path, { key: pub2.key })).body.app_role).toBe('owner');
    // The old owner no longer sees it (acl, no grant).
    expect((await api(t.url, 'GET', path, { key: pub.key })).status).toBe(404);
    const audit = await t.server.ctx.audit.recent(50, 'content.owner');
    expect(audit).toEqual([
      expect.objectContaining({
        actorUserId: t.admin.user.id,
        targetId: c.guid,
        details: expect.objectContaining({ from: pub.user.guid, to: pub2.user.guid }),
      }),
    ]);
  });

  it('locks content: listings show it, it serves its message escaped, takes no bundles or deploys; unlocking restores it', async () => {
    const d = await deployBundle(t.url, pub.key, 'lockable', await staticBundle('<p>the real page</p>'), { title: 'Lockable', access_type: 'logged_in' });
    expect(d.task.code, d.log).toBe(0);
    const { guid } = d.content;
    const path = `/__api__/v1/content/${guid}`;
    const message = '# Moved\n\nSee the [new app](https://example.com/new). <script>alert(1)</script>';
    const locked = await api(t.url, 'PATCH', path, { key: pub.key, body: { locked: true, locked_message: message } });
    expect(locked.status).toBe(200);
    expect(locked.body).toMatchObject({ locked: true, locked_message: message });

    // Every content JSON says so.
    expect((await api(t.url, 'GET', path, { key: viewer.key })).body).toMatchObject({ locked: true, locked_message: message });
    const listed = (await api(t.url, 'GET', '/__api__/v1/content', { key: pub.key })).body.find((c: { guid: string }) => c.guid === guid);
    expect(listed).toMatchObject({ locked: true, locked_message: message });
    const found = (await api(t.url, 'GET', '/__api__/v1/search/content?q=lockable', { key: pub.key })).body.results.find(
      (c: { guid: string }) => c.guid === guid,
    );
    expect(found).toMatchObject({ locked: true, locked_message: message });
    expect((await api(t.url, 'GET', `/__api__/applications/${d.content.id}`, { key: pub.key })).body).toMatchObject({ locked: true });

    // A viewer gets the message, as text, with status 200; never the content.
    const page = await get(`${t.contentUrl}/content/${guid}/`, viewer.key);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('the real page');
    expect(page.text).toContain('See the [new app](https://example.com/new).');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).not.toContain('<script>alert(1)');
    expect((await get(`${t.contentUrl}/content/${guid}/index.html`, viewer.key)).text).not.toContain('the real page');
    // Nor can the owner's draft address reach a bundle.
    expect((await get(`${t.contentUrl}/content/${guid}/_bundle${d.bundleId}/`, pub.key)).text).not.toContain('the real page');

    // Neither an upload nor a deploy: Connect's LockedContentBundle (222).
    const up = await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, pub.key, await staticBundle('<p>new</p>'));
    expect(up.status).toBe(400);
    expect(up.body).toMatchObject({ code: 222, error: expect.stringContaining('locked') });
    const v0 = await uploadChunked(t.url, `/__api__/applications/${d.content.id}/upload`, pub.key, await staticBundle('<p>new</p>'));
    expect(v0.body).toMatchObject({ code: 222 });
    for (const [p, body] of [
      [`${path}/deploy`, { bundle_id: d.bundleId }],
      [`/__api__/applications/${d.content.id}/deploy`, { bundle: Number(d.bundleId) }],
    ] as const) {
      const dep = await api(t.url, 'POST', p, { key: pub.key, body });
      expect(dep.status).toBe(400);
      expect(dep.body).toMatchObject({ code: 222 });
    }

    // Unlocked: the content again, the message kept for next time, deploys allowed.
    const unlocked = await api(t.url, 'PATCH', path, { key: pub.key, body: { locked: false } });
    expect(unlocked.body).toMatchObject({ locked: false, locked_message: message });
    expect((await get(`${t.contentUrl}/content/${guid}/`, viewer.key)).text).toContain('the real page');
    expect((await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, pub.key, await staticBundle('<p>new</p>'))).status).toBe(201);

    const actions = (await t.server.ctx.audit.recent(100)).filter((e) => e.targetId === guid).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['content.lock', 'content.unlock']));
  });

  it('refuses a lock message of the wrong type or too long', async () => {
    const c = (await create(pub.key, { name: 'bad-lock' })).body;
    const path = `/__api__/v1/content/${c.guid}`;
    expect((await api(t.url, 'PATCH', path, { key: pub.key, body: { locked: 'yes' } })).status).toBe(400);
    const long = await api(t.url, 'PATCH', path, { key: pub.key, body: { locked: true, locked_message: 'x'.repeat(20_000) } });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ code: 224 });
    expect((await api(t.url, 'GET', path, { key: pub.key })).body.locked).toBe(false);
  });
});
