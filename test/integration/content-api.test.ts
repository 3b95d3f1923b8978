import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('the content API on %s', (kind) => {
  let t: TestServer;
  let alice: { key: string; user: { id: number; guid: string } };
  let bob: { key: string; user: { id: number; guid: string } };
  let viewer: { key: string };
  beforeAll(async () => {
    t = await startTestServer(kind);
    alice = await t.createUser('alice', 'publisher');
    bob = await t.createUser('bob', 'publisher');
    viewer = await t.createUser('vic', 'viewer');
  });
  afterAll(async () => t?.close());

  it('lets publishers own content and administrators manage all of it, and viewers publish nothing', async () => {
    const mine = await api(t.url, 'POST', '/__api__/v1/content', { key: alice.key, body: { name: 'alices-report', title: 'Report' } });
    expect(mine.status).toBe(201);
    expect(mine.body.owner_guid).toBe(alice.user.guid);
    expect(mine.body.app_role).toBe('owner');
    expect((await api(t.url, 'POST', '/__api__/v1/content', { key: viewer.key, body: { name: 'nope' } })).status).toBe(403);
    expect((await api(t.url, 'POST', '/__api__/applications', { key: viewer.key, body: { name: 'nope' } })).status).toBe(403);

    // Bob cannot see it (same answer as for nothing at all), so cannot change it either.
    const guid = mine.body.guid;
    const hidden = await api(t.url, 'GET', `/__api__/v1/content/${guid}`, { key: bob.key });
    const absent = await api(t.url, 'GET', '/__api__/v1/content/00000000-0000-4000-8000-000000000000', { key: bob.key });
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(absent.body);
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: bob.key, body: { title: 'mine now' } })).status).toBe(404);
    expect((await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, bob.key, await staticBundle('<p>not yours</p>'))).status).toBe(404);
    expect((await api(t.url, 'GET', `/__api__/applications/${mine.body.id}`, { key: bob.key })).status).toBe(404);

    // Shared with logged-in users, Bob sees it but still cannot change it.
    await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: alice.key, body: { access_type: 'logged_in' } });
    expect((await api(t.url, 'GET', `/__api__/v1/content/${guid}`, { key: bob.key })).body.app_role).toBe('viewer');
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: bob.key, body: { title: 'x' } })).status).toBe(403);

    const admin = await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: t.admin.key, body: { title: 'By admin', max_processes: 3 } });
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ title: 'By admin', max_processes: 3, app_role: 'editor' });
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${guid}`, { key: t.admin.key })).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${guid}`, { key: alice.key })).status).toBe(404);
  });

  it('keeps names unique and well-formed, and names wrongly typed fields', async () => {
    expect((await api(t.url, 'POST', '/__api__/v1/content', { key: alice.key, body: { name: 'unique-name' } })).status).toBe(201);
    const dup = await api(t.url, 'POST', '/__api__/v1/content', { key: bob.key, body: { name: 'unique-name' } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe(26);
    for (const name of ['ab', 'has space', '../x', 'x'.repeat(65)]) {
      const bad = await api(t.url, 'POST', '/__api__/v1/content', { key: alice.key, body: { name } });
      expect(bad.status, name).toBe(400);
      expect(bad.body.code).toBe(5);
    }
    const types = await api(t.url, 'POST', '/__api__/v1/content', {
      key: alice.key,
      body: { name: 'typed', title: 7, access_type: 'everyone', max_processes: 'many' },
    });
    expect(types.status).toBe(400);
    expect(types.body.payload.problems.map((p: string) => p.split(':')[0]).sort()).toEqual(['access_type', 'max_processes', 'title']);
  });

  it('serves the v0 list with the R client filters, counts and paging', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await api(t.url, 'POST', '/__api__/applications', { key: bob.key, body: { name: n } });
    const byName = await api(t.url, 'GET', `/__api__/applications?filter=account_id:${bob.user.id}&filter=name:page-b&count=100&offset=0`, { key: bob.key });
    expect(byName.body).toMatchObject({ count: 1, total: 1 });
    expect(byName.body.applications[0]).toMatchObject({ name: 'page-b', owner_username: 'bob', app_mode: 0 });
    expect(typeof byName.body.applications[0].id).toBe('number');

    const p1 = await api(t.url, 'GET', `/__api__/applications?filter=account_id:${bob.user.id}&count=2&offset=0`, { key: bob.key });
    expect(p1.body).toMatchObject({ count: 2, total: 3, continuation: '2' });
    const p2 = await api(t.url, 'GET', `/__api__/applications?filter=account_id:${bob.user.id}&count=2&start=2`, { key: bob.key });
    expect(p2.body).toMatchObject({ count: 1, total: 3, continuation: '' });
    const cont = await api(t.url, 'GET', `/__api__/applications?filter=account_id:${bob.user.id}&count=2&cont=2`, { key: bob.key });
    expect(cont.body.applications.map((a: { name: string }) => a.name)).toEqual(p2.body.applications.map((a: { name: string }) => a.name));
    const past = await api(t.url, 'GET', `/__api__/applications?filter=account_id:${bob.user.id}&count=2&offset=10`, { key: bob.key });
    expect(past.body).toMatchObject({ applications: [], count: 0, total: 3 });
    expect((await api(t.url, 'GET', '/__api__/applications?search=page-', { key: bob.key })).body.total).toBe(3);
    const bad = await api(t.url, 'GET', '/__api__/applications?filter=color:red', { key: bob.key });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe(11);

    const app = byName.body.applications[0];
    const cfg = await api(t.url, 'GET', `/__api__/applications/${app.id}/config`, { key: bob.key });
    expect(cfg.body.config_url).toBe(`${t.url}/connect/#/apps/${app.guid}`);
    expect(cfg.body.logs_url).toBe(`${t.url}/connect/#/apps/${app.guid}/logs`);
    const dashboard = await fetch(cfg.body.config_url, { redirect: 'manual' });
    // The dashboard (a page) asks an anonymous caller to log in first; its script then opens the content's page.
    expect(dashboard.status).toBe(303);
    expect(dashboard.headers.get('location')).toBe('/login?next=%2Fconnect%2F');
    const titled = await api(t.url, 'POST', `/__api__/applications/${app.id}`, { key: bob.key, body: { title: 'Page B' } });
    expect(titled.body.title).toBe('Page B');
    expect((await api(t.url, 'POST', `/__api__/applications/${app.id}/terminate`, { key: bob.key, body: [] })).body).toEqual({});
  });

  it('lists v1 content by name and owner', async () => {
    const list = await api(t.url, 'GET', `/__api__/v1/content?owner_guid=${bob.user.guid}&include=owner`, { key: t.admin.key });
    expect(list.body.length).toBeGreaterThanOrEqual(3);
    expect(list.body[0].owner).toMatchObject({ username: 'bob' });
    expect((await api(t.url, 'GET', '/__api__/v1/content?name=page-a', { key: bob.key })).body).toHaveLength(1);
    expect((await api(t.url, 'GET', '/__api__/v1/content?name=page-a', { key: alice.key })).body).toHaveLength(0);
  });
});
