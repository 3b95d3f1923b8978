import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('content search: GET /v1/search/content (%s)', (kind) => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** alice owns a published static site and two drafts; bob owns a private item and a shared one. */
  async function catalog() {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const bob = await t.createUser('bob', 'publisher');
    const viewer = await t.createUser('vera', 'viewer');
    const create = async (key: string, body: Record<string, unknown>) => {
      const res = await api(t!.url, 'POST', '/__api__/v1/content', { key, body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { guid: string; id: string };
    };
    const site = await deployBundle(t.url, alice.key, 'quarterly-sales', fixture('py-static-html.tar.gz'), {
      title: 'Quarterly sales',
      description: 'Revenue by region, north and south',
    });
    await api(t.url, 'PATCH', `/__api__/v1/content/${site.content.guid}`, { key: alice.key, body: { access_type: 'logged_in' } });
    const draft = await create(alice.key, { name: 'churn-model', title: 'Churn model', description: 'A draft' });
    const draft2 = await create(alice.key, { name: 'sales-forecast', title: 'Sales forecast' });
    const secret = await create(bob.key, { name: 'bob-private', title: 'Sales secrets' });
    const shared = await create(bob.key, { name: 'bob-shared', title: 'Shared sales digest' });
    await api(t.url, 'POST', `/__api__/v1/content/${shared.guid}/permissions`, {
      key: bob.key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    // A tag tree: Finance > Q3 > Board, and Ops > Infra; the site is tagged Board (and so Q3).
    const tag = async (name: string, parent: string | null) =>
      (await api(t!.url, 'POST', '/__api__/v1/tags', { key: t!.admin.key, body: { name, parent_id: parent } })).body.id as string;
    const finance = await tag('Finance', null);
    const q3 = await tag('Q3', finance);
    const board = await tag('Board', q3);
    const infra = await tag('Infra', await tag('Ops', null));
    const attach = async (key: string, guid: string, id: string) =>
      expect((await api(t!.url, 'POST', `/__api__/v1/content/${guid}/tags`, { key, body: { tag_id: id } })).status).toBe(200);
    await attach(alice.key, site.content.guid, board);
    await attach(alice.key, draft.guid, infra);
    return { t, alice, bob, viewer, site: site.content.guid as string, draft: draft.guid, draft2: draft2.guid, secret: secret.guid, shared: shared.guid };
  }

  const names = (body: { results: Array<{ name: string }> }) => body.results.map((r) => r.name).sort();
  const search = async (key: string, q: string, extra = '') => {
    const res = await api(t!.url, 'GET', `/__api__/v1/search/content?q=${encodeURIComponent(q)}${extra}`, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it('finds by free words over name, title and description, all of them, only among what the caller may see', async () => {
    const { alice, viewer, bob } = await catalog();
    expect(names(await search(alice.key, 'sales'))).toEqual(['quarterly-sales', 'sales-forecast']);
    expect(names(await search(alice.key, 'SALES north'))).toEqual(['quarterly-sales']);
    expect(names(await search(alice.key, 'sales -forecast'))).toEqual(['quarterly-sales']);
    // The viewer sees the logged-in site and what was shared with them; never bob's private item.
    expect(names(await search(viewer.key, 'sales'))).toEqual(['bob-shared', 'quarterly-sales']);
    expect(names(await search(bob.key, 'secrets'))).toEqual(['bob-private']);
    expect(names(await search(alice.key, 'secrets'))).toEqual([]);
    // Administrators see everything.
    expect((await search(t!.admin.key, '')).total).toBe(5);
  });

  it('filters by owner, type, publication and tag path or name, with negation', async () => {
    const { alice, bob } = await catalog();
    expect(names(await search(bob.key, 'owner:alice'))).toEqual(['quarterly-sales']);
    expect(names(await search(alice.key, 'owner:@me is:published'))).toEqual(['quarterly-sales']);
    expect(names(await search(alice.key, 'owner:@me -is:published'))).toEqual(['churn-model', 'sales-forecast']);
    expect(names(await search(alice.key, 'type:static'))).toEqual(['quarterly-sales']);
    expect(names(await search(alice.key, 'tag:"Finance/Q3"'))).toEqual(['quarterly-sales']);
    expect(names(await search(alice.key, 'tag:Board'))).toEqual(['quarterly-sales']);
    expect(names(await search(alice.key, 'tag:Finance/Q3/Board,Ops/Infra'))).toEqual(['churn-model', 'quarterly-sales']);
    expect(names(await search(alice.key, 'owner:@me -tag:Q3'))).toEqual(['churn-model', 'sales-forecast']);
    expect(names(await search(t!.admin.key, 'owner:alice,bob -owner:bob'))).toEqual(['churn-model', 'quarterly-sales', 'sales-forecast']);
  });

  it('pages with a correct total, sorts, and warns about what it ignored', async () => {
    const { alice } = await catalog();
    const first = await search(t!.admin.key, '', '&page_size=2&page_number=1&sort=name&order=asc');
    expect(first).toMatchObject({ total: 5, current_page: 1 });
    expect(first.results.map((r: { name: string }) => r.name)).toEqual(['bob-private', 'bob-shared']);
    const third = await search(t!.admin.key, '', '&page_size=2&page_number=3&sort=name&order=asc');
    expect(third.results.map((r: { name: string }) => r.name)).toEqual(['sales-forecast']);
    expect(first.warnings).toBeUndefined();
    const warned = await search(alice.key, 'published:bogus type:spreadsheet owner:nobody', '&future_param=value');
    expect(warned.warnings).toEqual([
      "Invalid value for 'published' filter: 'bogus'. Expected true or false",
      "Invalid value for 'type' filter: 'spreadsheet'.",
      "No user is named 'nobody'.",
    ]);
    expect(warned.total).toBe(0);
    // include=owner adds the owner object, as on GET /v1/content.
    const withOwner = await search(alice.key, 'quarterly', '&include=owner');
    expect(withOwner.results[0].owner).toMatchObject({ username: 'alice' });
    const bad = await api(t!.url, 'GET', '/__api__/v1/search/content?page_size=501', { key: alice.key });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe(25);
  });
});
