import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const FIELDS = ['action', 'event_description', 'id', 'time', 'user_description', 'user_guid', 'user_id'];

interface Page {
  paging: { cursors: { previous: string | null; next: string | null }; first: string; previous: string | null; next: string | null; last: string };
  results: Array<Record<string, string | null>>;
}

describe.each(DATABASES)('GET /v1/audit_logs (%s)', (kind) => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** The operations a client performs, each of which must leave an entry. */
  async function ordinaryDay() {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const group = await api(t.url, 'POST', '/__api__/v1/groups', { key: t.admin.key, body: { name: 'Publishers' } });
    expect(group.status).toBe(201);
    await api(t.url, 'POST', `/__api__/v1/groups/${group.body.guid}/members`, { key: t.admin.key, body: { user_guid: alice.user.guid } });
    const item = await api(t.url, 'POST', '/__api__/v1/content', { key: alice.key, body: { name: 'sales-report' } });
    await api(t.url, 'POST', `/__api__/v1/content/${item.body.guid}/permissions`, {
      key: alice.key,
      body: { principal_guid: group.body.guid, principal_type: 'group', role: 'viewer' },
    });
    await api(t.url, 'POST', '/__api__/v1/tags', { key: t.admin.key, body: { name: 'Finance' } });
    const env = await api(t.url, 'PATCH', `/__api__/v1/content/${item.body.guid}/environment`, {
      key: alice.key,
      body: [{ name: 'TOKEN', value: 's3cret-value' }],
    });
    expect(env.status).toBe(200);
    expect((await api(t.url, 'PUT', `/__api__/v1/content/${item.body.guid}/vanity`, { key: alice.key, body: { path: '/sales/' } })).status).toBe(200);
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${item.body.guid}`, { key: alice.key, body: { title: 'Sales' } })).status).toBe(200);
    const site = await deployBundle(t.url, alice.key, 'static-site', fixture('py-static-html.tar.gz'));
    expect(site.task.code, site.log).toBe(0);
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${site.content.guid}`, { key: alice.key })).status).toBeLessThan(300);
    return { t, alice, group: group.body.guid as string };
  }

  const get = async (path: string, key: string) => {
    const res = await api(t!.url, 'GET', path, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Page;
  };

  it("records ordinary operations in Connect's shape, oldest first, who did each and what", async () => {
    const { t, alice } = await ordinaryDay();
    const page = await get('/__api__/v1/audit_logs?limit=500', t.admin.key);
    expect(Object.keys(page).sort()).toEqual(['paging', 'results']);
    for (const e of page.results) {
      expect(Object.keys(e).sort()).toEqual(FIELDS);
      expect(e.time).toMatch(RFC3339_UTC);
      expect(e.id).toMatch(/^\d+$/);
      expect(e.user_id).toMatch(/^\d+$/);
    }
    const ids = page.results.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const actions = page.results.map((e) => e.action);
    for (const a of [
      'add_user',
      'add_group',
      'add_group_member',
      'add_content_permission',
      'add_tag',
      'add_api_key',
      'edit_content_environment',
      'add_application',
      'update_application',
      'add_vanity_url',
      'deploy_application',
      'remove_application',
    ])
      expect(actions).toContain(a);
    // A variable's name is recorded, never its value.
    expect(JSON.stringify(page)).not.toContain('s3cret-value');
    const group = page.results.find((e) => e.action === 'add_group')!;
    expect(group).toMatchObject({ event_description: 'Added group Publishers', user_guid: t.admin.user.guid, user_id: String(t.admin.user.id) });
    expect(group.user_description).toContain(t.admin.user.username);
    const grant = page.results.find((e) => e.action === 'add_content_permission')!;
    expect(grant.user_guid).toBe(alice.user.guid);
    // The only page: no next cursor, no next link (connectapi would follow an empty one).
    expect(page.paging.cursors.next).toBeNull();
    expect(page.paging.next).toBeNull();
  });

  it('pages by cursor both ways and keeps the filters in its absolute links', async () => {
    const { t } = await ordinaryDay();
    const all = (await get('/__api__/v1/audit_logs?limit=500', t.admin.key)).results.map((e) => e.id);
    expect(all.length).toBeGreaterThan(4);
    // Forward by cursors (posit-sdk-py's way) and by links (connectapi's way) see the same, once each.
    const seen: string[] = [];
    let page = await get('/__api__/v1/audit_logs?limit=2', t.admin.key);
    const pages: Page[] = [page];
    seen.push(...page.results.map((e) => e.id!));
    while (page.paging.next) {
      expect(page.paging.next).toMatch(/^http:\/\/[^/]+\/__api__\/v1\/audit_logs\?/);
      expect(new URL(page.paging.next).searchParams.get('limit')).toBe('2');
      const res = await fetch(page.paging.next, { headers: { authorization: `Key ${t.admin.key}` } });
      page = (await res.json()) as Page;
      pages.push(page);
      seen.push(...page.results.map((e) => e.id!));
    }
    expect(seen).toEqual(all);
    expect(page.paging.cursors.next).toBeNull();
    // Back from the second page is the first.
    const back = await get(`/__api__/v1/audit_logs?limit=2&previous=${pages[1]!.paging.cursors.previous}`, t.admin.key);
    expect(back.results.map((e) => e.id)).toEqual(all.slice(0, 2));
    // The last page, and newest first.
    const last = await get('/__api__/v1/audit_logs?limit=2&last=true', t.admin.key);
    expect(last.results.map((e) => e.id)).toEqual(all.slice(-2));
    const newest = await get('/__api__/v1/audit_logs?limit=3&ascOrder=false', t.admin.key);
    expect(newest.results.map((e) => e.id)).toEqual(all.slice(-3).reverse());
    const older = await get(`/__api__/v1/audit_logs?limit=3&ascOrder=false&next=${newest.paging.cursors.next}`, t.admin.key);
    expect(older.results.map((e) => e.id)).toEqual(all.slice(-6, -3).reverse());
  });

  it('is for administrators, and refuses a malformed query clearly', async () => {
    const { t, alice } = await ordinaryDay();
    const refused = await api(t.url, 'GET', '/__api__/v1/audit_logs', { key: alice.key });
    expect(refused.status).toBe(403);
    expect(Object.keys(refused.body).sort()).toEqual(['code', 'error', 'payload']);
    for (const bad of ['limit=many', 'next=abc', 'ascOrder=maybe']) {
      const res = await api(t.url, 'GET', `/__api__/v1/audit_logs?${bad}`, { key: t.admin.key });
      expect(res.status, bad).toBe(400);
      expect(res.body.error, bad).toBeTruthy();
    }
    // Out-of-range limits are clamped ("best effort"), not refused.
    expect((await get('/__api__/v1/audit_logs?limit=100000', t.admin.key)).results.length).toBeGreaterThan(0);
  });
});
