import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// Past PostgreSQL's integer: a 500 there and a 404 on SQLite, unless checked first.
const HUGE = '99999999999';
const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

interface TagJson {
  id: string;
  name: string;
  parent_id: string | null;
  created_time: string;
  updated_time: string;
}

describe.each(DATABASES)('tags on %s', (kind) => {
  let t: TestServer;
  let pub: { key: string; user: { guid: string } };
  let other: { key: string; user: { guid: string } };
  let viewer: { key: string; user: { guid: string } };
  let seq = 0;

  beforeAll(async () => {
    t = await startTestServer(kind);
    pub = await t.createUser('pub', 'publisher');
    other = await t.createUser('other', 'publisher');
    viewer = await t.createUser('viewer', 'viewer');
  });
  afterAll(async () => t?.close());
  // Every test starts from an empty tree: deleting the categories deletes everything.
  afterEach(async () => {
    const all = (await api(t.url, 'GET', '/__api__/v1/tags', { key: t.admin.key })).body as TagJson[];
    for (const tag of all.filter((x) => x.parent_id === null)) await api(t.url, 'DELETE', `/__api__/v1/tags/${tag.id}`, { key: t.admin.key });
  });

  async function tag(name: string, parent?: TagJson): Promise<TagJson> {
    const res = await api(t.url, 'POST', '/__api__/v1/tags', { key: t.admin.key, body: parent ? { name, parent_id: parent.id } : { name } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as TagJson;
  }

  /** Root > A > C > D and Root > B, as posit-sdk-py's integration tests build it. */
  async function tree() {
    const root = await tag('tagRoot');
    const a = await tag('tagA', root);
    const b = await tag('tagB', root);
    const c = await tag('tagC', a);
    const d = await tag('tagD', c);
    return { root, a, b, c, d };
  }

  async function content(owner = pub, body: Record<string, unknown> = {}): Promise<string> {
    const res = await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: `tagged-${++seq}`, ...body } });
    expect(res.status).toBe(201);
    return res.body.guid as string;
  }

  const tagsOf = async (guid: string, key = pub.key) => {
    const res = await api(t.url, 'GET', `/__api__/v1/content/${guid}/tags`, { key });
    expect(res.status).toBe(200);
    return (res.body as TagJson[]).map((x) => x.name).sort();
  };
  const add = (guid: string, tagId: string, key = pub.key) => api(t.url, 'POST', `/__api__/v1/content/${guid}/tags`, { key, body: { tag_id: tagId } });
  const remove = (guid: string, tagId: string, key = pub.key) => api(t.url, 'DELETE', `/__api__/v1/content/${guid}/tags/${tagId}`, { key });
  const taggedWith = async (tagId: string, key = t.admin.key) => {
    const res = await api(t.url, 'GET', `/__api__/v1/tags/${tagId}/content`, { key });
    expect(res.status).toBe(200);
    return (res.body as { guid: string }[]).map((c) => c.guid).sort();
  };

  it('builds a tree whose tags look the same from every endpoint, listed in creation order', async () => {
    expect((await api(t.url, 'GET', '/__api__/v1/tags', { key: viewer.key })).body).toEqual([]);
    const { root, a, b, c, d } = await tree();
    expect(root).toEqual({
      id: expect.any(String),
      name: 'tagRoot',
      parent_id: null,
      created_time: expect.stringMatching(RFC3339_UTC),
      updated_time: expect.stringMatching(RFC3339_UTC),
    });
    expect(c.parent_id).toBe(a.id);
    expect(typeof c.parent_id).toBe('string');

    // Anyone logged in reads the tree; the very same objects as POST answered.
    const all = await api(t.url, 'GET', '/__api__/v1/tags', { key: viewer.key });
    expect(all.body).toEqual([root, a, b, c, d]);
    for (const x of [root, a, b, c, d]) expect((await api(t.url, 'GET', `/__api__/v1/tags/${x.id}`, { key: viewer.key })).body).toEqual(x);
    expect((await api(t.url, 'GET', `/__api__/v1/tags?parent_id=${a.id}`, { key: viewer.key })).body).toEqual([c]);
    expect((await api(t.url, 'GET', `/__api__/v1/tags?parent_id=${root.id}`, { key: viewer.key })).body).toEqual([a, b]);
    expect((await api(t.url, 'GET', '/__api__/v1/tags?name=tagC', { key: viewer.key })).body).toEqual([c]);
    expect((await api(t.url, 'GET', `/__api__/v1/tags?name=tagC&parent_id=${root.id}`, { key: viewer.key })).body).toEqual([]);
    expect((await api(t.url, 'GET', `/__api__/v1/tags?parent_id=${HUGE}`, { key: viewer.key })).body).toEqual([]);

    // Not logged in: nothing.
    expect((await api(t.url, 'GET', '/__api__/v1/tags')).status).toBe(401);
  });

  it("puts a tag on content with its ancestors below the category, and takes a tag's subtree off", async () => {
    const { root, a, b, c, d } = await tree();
    const guid = await content();
    expect(await tagsOf(guid)).toEqual([]);

    const added = await add(guid, d.id);
    expect(added.status).toBe(200);
    expect(added.body).toEqual(d);
    expect((await add(guid, b.id)).status).toBe(200);
    // D, C and A (D's ancestors), B; the category Root is not a tag.
    expect(await tagsOf(guid)).toEqual(['tagA', 'tagB', 'tagC', 'tagD']);
    // Adding again changes nothing.
    expect((await add(guid, d.id)).status).toBe(200);
    expect(await tagsOf(guid)).toEqual(['tagA', 'tagB', 'tagC', 'tagD']);

    expect((await remove(guid, b.id)).status).toBe(200);
    expect(await tagsOf(guid)).toEqual(['tagA', 'tagC', 'tagD']);
    // C and D below it go, A above it stays.
    expect((await remove(guid, c.id)).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${guid}/tags`, { key: pub.key })).body).toEqual([a]);

    // The category was never on the item: removing it still succeeds and strips what is below.
    await add(guid, d.id);
    expect((await remove(guid, root.id)).status).toBe(200);
    expect(await tagsOf(guid)).toEqual([]);
    // Removing a tag that is not on the item is no error either.
    expect((await remove(guid, d.id)).status).toBe(200);
  });

  it('lists the content carrying a tag once each, all of it for administrators, what they may see for others', async () => {
    const { root, a, b, c, d } = await tree();
    const [ca, cb, cc] = [await content(), await content(), await content(other)];
    await add(ca, d.id);
    await add(ca, b.id);
    await add(cb, a.id);
    await add(cb, c.id);
    await add(cc, c.id, other.key);
    expect((await tagsOf(ca)).length).toBe(4);
    expect((await tagsOf(cb)).length).toBe(2);
    expect((await tagsOf(cc, other.key)).length).toBe(2);

    // Each item once, however many of its tags lead to it.
    expect(await taggedWith(a.id)).toEqual([ca, cb, cc].sort());
    expect(await taggedWith(b.id)).toEqual([ca]);
    expect(await taggedWith(c.id)).toEqual([ca, cb, cc].sort());
    const items = (await api(t.url, 'GET', `/__api__/v1/tags/${a.id}/content`, { key: t.admin.key })).body;
    expect(items[0]).toMatchObject({ guid: expect.any(String), name: expect.any(String), app_mode: expect.any(String), id: expect.any(String) });

    // pub does not see other's item; a viewer sees none of these acl items until given one.
    expect(await taggedWith(a.id, pub.key)).toEqual([ca, cb].sort());
    expect(await taggedWith(a.id, viewer.key)).toEqual([]);
    await api(t.url, 'POST', `/__api__/v1/content/${cc}/permissions`, {
      key: other.key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    expect(await taggedWith(a.id, viewer.key)).toEqual([cc]);
    expect(await tagsOf(cc, viewer.key)).toEqual(['tagA', 'tagC']);

    // Renames and moves, as posit-sdk-py's Tag.update() sends them.
    const renamed = await api(t.url, 'PATCH', `/__api__/v1/tags/${d.id}`, { key: t.admin.key, body: { name: 'tagD_updated' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: d.id, name: 'tagD_updated', parent_id: c.id, created_time: d.created_time });
    expect((await api(t.url, 'GET', `/__api__/v1/tags/${d.id}`, { key: pub.key })).body.name).toBe('tagD_updated');
    const moved = await api(t.url, 'PATCH', `/__api__/v1/tags/${d.id}`, { key: t.admin.key, body: { parent_id: b.id } });
    expect(moved.body.parent_id).toBe(b.id);
    expect((await api(t.url, 'GET', `/__api__/v1/tags/${d.id}`, { key: pub.key })).body).toEqual(moved.body);

    // Removing the category from each item leaves no tag on any.
    for (const [guid, key] of [
      [ca, pub.key],
      [cb, pub.key],
      [cc, other.key],
    ] as const)
      expect((await remove(guid, root.id, key)).status).toBe(200);
    for (const x of [a, b, c, d]) expect(await taggedWith(x.id)).toEqual([]);
  });

  it('deletes a tag with its subtree, which comes off content too', async () => {
    const { root, a, b, c, d } = await tree();
    const guid = await content();
    await add(guid, d.id);
    await add(guid, b.id);
    const del = await api(t.url, 'DELETE', `/__api__/v1/tags/${c.id}`, { key: t.admin.key });
    expect(del.status).toBe(204);
    for (const gone of [c, d]) {
      const res = await api(t.url, 'GET', `/__api__/v1/tags/${gone.id}`, { key: pub.key });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(4);
    }
    expect(await tagsOf(guid)).toEqual(['tagA', 'tagB']);
    expect((await api(t.url, 'GET', '/__api__/v1/tags', { key: pub.key })).body).toEqual([root, a, b]);
    expect((await api(t.url, 'DELETE', `/__api__/v1/tags/${c.id}`, { key: t.admin.key })).status).toBe(404);
    expect((await api(t.url, 'DELETE', `/__api__/v1/tags/${root.id}`, { key: t.admin.key })).status).toBe(204);
    expect((await api(t.url, 'GET', '/__api__/v1/tags', { key: pub.key })).body).toEqual([]);
    expect(await tagsOf(guid)).toEqual([]);
  });

  it("refuses what Connect refuses, with Connect's codes", async () => {
    const { root, a, b, c, d } = await tree();
    const post = (body: unknown) => api(t.url, 'POST', '/__api__/v1/tags', { key: t.admin.key, body });
    const patch = (id: string, body: unknown) => api(t.url, 'PATCH', `/__api__/v1/tags/${id}`, { key: t.admin.key, body });
    const expectError = (res: { status: number; body: any }, status: number, code: number) => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      // Connect's error shape: posit-sdk-py reads `code` and `error`, and `payload` if there.
      expect(res.body).toMatchObject({ code, error: expect.any(String) });
      expect(res.body).toHaveProperty('payload');
    };

    expectError(await post({ name: '' }), 400, 78);
    expectError(await post({ name: '   ' }), 400, 78);
    expectError(await post({}), 400, 78);
    expectError(await post({ name: 'x'.repeat(256) }), 400, 77);
    expect((await post({ name: 'x'.repeat(255) })).status).toBe(200);
    // Unique among siblings, the categories included; the same name elsewhere is fine.
    expectError(await post({ name: 'tagRoot' }), 400, 81);
    expectError(await post({ name: 'tagC', parent_id: a.id }), 400, 81);
    expect((await post({ name: 'tagC', parent_id: root.id })).status).toBe(200);
    expectError(await post({ name: 'orphan', parent_id: '424242' }), 400, 157);
    expectError(await post({ name: 'orphan', parent_id: HUGE }), 400, 157);
    expectError(await post({ name: 'orphan', parent_id: 'abc' }), 400, 157);
    expectError(await post({ name: 42 }), 400, 25);

    expectError(await patch(c.id, { name: '' }), 400, 78);
    // B and A are siblings under Root; C is alone under A.
    expectError(await patch(b.id, { name: 'tagA' }), 400, 81);
    expect((await patch(c.id, { name: 'tagB' })).status).toBe(200);
    expectError(await patch(c.id, { parent_id: '424242' }), 400, 157);
    // Under itself or its own descendant: refused, and nothing moved.
    expectError(await patch(a.id, { parent_id: d.id }), 400, 157);
    expectError(await patch(a.id, { parent_id: a.id }), 400, 157);
    expect((await api(t.url, 'GET', `/__api__/v1/tags/${a.id}`, { key: pub.key })).body).toEqual(a);
    // Moving to the top makes it a category; its name must be free there too.
    expectError(await patch(c.id, { parent_id: null, name: 'tagRoot' }), 400, 81);
    const top = await patch(c.id, { parent_id: null });
    expect(top.status).toBe(200);
    expect(top.body.parent_id).toBeNull();

    // A category cannot go on content; a tag that does not exist is an invalid tag.
    const guid = await content();
    expectError(await add(guid, root.id), 400, 79);
    expectError(await add(guid, '424242'), 400, 158);
    expectError(await add(guid, 'not-a-number'), 400, 158);
    expect(await tagsOf(guid)).toEqual([]);
    expectError(await remove(guid, '424242'), 404, 4);
  });

  it('keeps a name unique among siblings however many creations race', async () => {
    const root = await tag('raced-root');
    const tries = await Promise.all(
      Array.from({ length: 8 }, () => api(t.url, 'POST', '/__api__/v1/tags', { key: t.admin.key, body: { name: 'same', parent_id: root.id } })),
    );
    expect(tries.filter((r) => r.status === 200)).toHaveLength(1);
    expect(tries.filter((r) => r.status === 400 && r.body.code === 81)).toHaveLength(7);
    expect((await api(t.url, 'GET', `/__api__/v1/tags?parent_id=${root.id}`, { key: pub.key })).body).toHaveLength(1);
  });

  it('lets administrators alone change the tree, managers of an item alone change its tags, and viewers read them', async () => {
    const { root, a } = await tree();
    for (const who of [pub, viewer]) {
      const res = await api(t.url, 'POST', '/__api__/v1/tags', { key: who.key, body: { name: 'mine' } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe(22);
      expect((await api(t.url, 'PATCH', `/__api__/v1/tags/${a.id}`, { key: who.key, body: { name: 'mine' } })).status).toBe(403);
      expect((await api(t.url, 'DELETE', `/__api__/v1/tags/${a.id}`, { key: who.key })).status).toBe(403);
    }
    expect((await api(t.url, 'GET', '/__api__/v1/tags', { key: pub.key })).body.map((x: TagJson) => x.name)).toEqual([
      'tagRoot',
      'tagA',
      'tagB',
      'tagC',
      'tagD',
    ]);

    const guid = await content();
    // Unseen: 404, as for no item at all. Seen but not managed: 403.
    expect((await add(guid, a.id, viewer.key)).status).toBe(404);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${guid}/tags`, { key: viewer.key })).status).toBe(404);
    await api(t.url, 'POST', `/__api__/v1/content/${guid}/permissions`, {
      key: pub.key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    expect((await add(guid, a.id, viewer.key)).status).toBe(403);
    expect((await add(guid, a.id, other.key)).status).toBe(404);
    expect((await add(guid, a.id)).status).toBe(200);
    expect((await remove(guid, a.id, viewer.key)).status).toBe(403);
    expect(await tagsOf(guid, viewer.key)).toEqual(['tagA']);
    // A collaborator manages the item's tags; administrators do too.
    await api(t.url, 'POST', `/__api__/v1/content/${guid}/permissions`, {
      key: pub.key,
      body: { principal_guid: other.user.guid, principal_type: 'user', role: 'owner' },
    });
    expect((await remove(guid, root.id, other.key)).status).toBe(200);
    expect((await add(guid, a.id, t.admin.key)).status).toBe(200);
    expect(await tagsOf(guid, viewer.key)).toEqual(['tagA']);

    // Every change is in the audit log.
    const actions = (await t.server.ctx.audit.recent(200)).map((e) => e.action);
    for (const action of ['tag.create', 'content.tag.add', 'content.tag.remove'] as const) expect(actions).toContain(action);
  });

  it('answers ids that cannot be tags as not found, the same on both databases', async () => {
    const { a } = await tree();
    const guid = await content();
    for (const id of [HUGE, '0', '-1', 'abc', '1.5', '424242']) {
      for (const [method, path] of [
        ['GET', `/v1/tags/${id}`],
        ['PATCH', `/v1/tags/${id}`],
        ['DELETE', `/v1/tags/${id}`],
        ['GET', `/v1/tags/${id}/content`],
        ['DELETE', `/v1/content/${guid}/tags/${id}`],
      ] as const) {
        const res = await api(t.url, method, `/__api__${path}`, { key: t.admin.key, body: method === 'PATCH' ? { name: 'x' } : undefined });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.code).toBe(4);
      }
    }
    expect((await add(guid, HUGE)).body.code).toBe(158);
    expect((await api(t.url, 'GET', `/__api__/v1/tags/${a.id}`, { key: pub.key })).status).toBe(200);
  });

  it('adds tags to content objects on include=tags, and only when the item has some', async () => {
    const { b, d } = await tree();
    const [tagged, bare] = [await content(), await content()];
    await add(tagged, d.id);
    await add(tagged, b.id);

    const one = await api(t.url, 'GET', `/__api__/v1/content/${tagged}?include=owner,tags,vanity_url`, { key: pub.key });
    expect(one.status).toBe(200);
    const expected = (await api(t.url, 'GET', `/__api__/v1/content/${tagged}/tags`, { key: pub.key })).body as TagJson[];
    expect(one.body.tags).toEqual(expected);
    expect(expected).toHaveLength(4);
    const fresh = await api(t.url, 'GET', `/__api__/v1/content/${bare}?include=owner,tags,vanity_url`, { key: pub.key });
    expect(fresh.body).not.toHaveProperty('tags');
    expect(fresh.body).not.toHaveProperty('vanity_url');
    // Not asked for: not there.
    expect((await api(t.url, 'GET', `/__api__/v1/content/${tagged}`, { key: pub.key })).body).not.toHaveProperty('tags');

    const list = (await api(t.url, 'GET', '/__api__/v1/content?include=tags', { key: pub.key })).body as { guid: string; tags?: TagJson[] }[];
    expect(list.find((c) => c.guid === tagged)?.tags).toEqual(expected);
    expect(list.find((c) => c.guid === bare)).not.toHaveProperty('tags');
    expect(((await api(t.url, 'GET', '/__api__/v1/content', { key: pub.key })).body as object[]).some((c) => 'tags' in c)).toBe(false);
  });
});
