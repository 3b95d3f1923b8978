import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../src/domain/user.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

interface Person {
  key: string;
  user: User;
}

const CONNECT_ERROR = ['code', 'error', 'payload'];
const NOBODY = '00000000-0000-4000-8000-000000000000';

describe.each(DATABASES)('the groups API on %s', (kind) => {
  let t: TestServer;
  let pub: Person;
  let other: Person;
  let viewer: Person;
  beforeAll(async () => {
    t = await startTestServer(kind);
    [pub, other, viewer] = await Promise.all([t.createUser('gpub', 'publisher'), t.createUser('gother', 'publisher'), t.createUser('gviewer', 'viewer')]);
  });
  afterAll(async () => t?.close());

  const create = (name: unknown, key = pub.key) => api(t.url, 'POST', '/__api__/v1/groups', { key, body: { name } });

  it('creates groups for publishers and administrators, and refuses viewers and duplicates', async () => {
    const made = await create('Data Science');
    expect(made.status).toBe(201);
    expect(made.body).toEqual({ guid: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Data Science', owner_guid: pub.user.guid });
    expect((await create('Admins Only', t.admin.key)).body.owner_guid).toBe(t.admin.user.guid);

    const refused = await create('Viewers Club', viewer.key);
    expect(refused.status).toBe(403);
    expect(Object.keys(refused.body).sort()).toEqual(CONNECT_ERROR);

    const dup = await create('Data Science', other.key);
    expect(dup.status).toBe(409);
    expect(Object.keys(dup.body).sort()).toEqual(CONNECT_ERROR);
    expect(dup.body.error).toContain('Data Science');

    for (const name of ['', '   ', ' padded', 'x'.repeat(129), 'tab\there']) {
      const bad = await create(name);
      expect(bad.status, JSON.stringify(name)).toBe(400);
      expect(bad.body.error).toMatch(/name/);
    }
    const typed = await create(42);
    expect(typed.status).toBe(400);
    expect(typed.body.payload.problems[0]).toMatch(/^name:/);
    expect((await api(t.url, 'POST', '/__api__/v1/groups', { key: pub.key, body: {} })).status).toBe(400);
    expect((await api(t.url, 'POST', '/__api__/v1/groups', { body: { name: 'anon' } })).status).toBe(401);

    const audit = await t.server.ctx.audit.recent(100, 'group.create');
    expect(audit.find((e) => e.targetId === made.body.guid)).toMatchObject({
      actorUserId: pub.user.id,
      targetType: 'group',
      details: { name: 'Data Science' },
    });
  });

  it('refuses a name that differs from an existing one only by case, one at a time or all at once', async () => {
    expect((await create('Case Study')).status).toBe(201);
    for (const name of ['case study', 'CASE STUDY', 'cAsE sTuDy']) {
      const dup = await create(name, other.key);
      expect(dup.status, name).toBe(409);
      expect(dup.body).toEqual({ code: 26, error: expect.stringContaining('"Case Study"'), payload: null });
    }
    // Letters beyond ASCII too, the same on both databases.
    expect((await create('Équipe Über')).status).toBe(201);
    expect((await create('équipe über', t.admin.key)).status).toBe(409);
    // Sent at once, one of a set of case variants is made and the rest refused.
    const variants = ['Race Team', 'race team', 'RACE TEAM', 'Race team', 'race Team', 'RACE team'];
    const racing = await Promise.all(variants.map((n, i) => create(n, i % 2 ? other.key : pub.key)));
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect((await api(t.url, 'GET', '/__api__/v1/groups?prefix=race%20team', { key: pub.key })).body.total).toBe(1);
    // A deleted group's name is free again, in any case.
    const made = racing.find((r) => r.status === 201)!.body;
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${made.guid}`, { key: t.admin.key })).status).toBe(200);
    expect((await create('RACE TEAM')).status).toBe(201);
  });

  it('lists groups to everyone logged in, by prefix and page', async () => {
    for (const n of ['page-c', 'page-a', 'Page-b', 'page-d', 'page-e']) expect((await create(n, other.key)).status).toBe(201);
    const p1 = await api(t.url, 'GET', '/__api__/v1/groups?prefix=page-&page_size=2&page_number=1', { key: viewer.key });
    expect(p1.status).toBe(200);
    expect(p1.body).toEqual({ results: [expect.objectContaining({ name: 'page-a' }), expect.objectContaining({ name: 'Page-b' })], current_page: 1, total: 5 });
    const p3 = await api(t.url, 'GET', '/__api__/v1/groups?prefix=PAGE-&page_size=2&page_number=3', { key: viewer.key });
    expect(p3.body).toMatchObject({ current_page: 3, total: 5 });
    expect(p3.body.results.map((g: { name: string }) => g.name)).toEqual(['page-e']);
    const past = await api(t.url, 'GET', '/__api__/v1/groups?prefix=page-&page_size=2&page_number=9', { key: viewer.key });
    expect(past.body).toEqual({ results: [], current_page: 9, total: 5 });
    // Prefixes are literal: % and _ match only themselves.
    expect((await api(t.url, 'GET', '/__api__/v1/groups?prefix=%25', { key: viewer.key })).body.total).toBe(0);
    expect((await api(t.url, 'GET', '/__api__/v1/groups?prefix=page_', { key: viewer.key })).body.total).toBe(0);

    const all = await api(t.url, 'GET', '/__api__/v1/groups?page_size=500', { key: pub.key });
    expect(all.body.total).toBeGreaterThanOrEqual(7);
    for (const g of all.body.results) expect(Object.keys(g).sort()).toEqual(['guid', 'name', 'owner_guid']);

    const bad = await api(t.url, 'GET', '/__api__/v1/groups?page_size=0&page_number=x', { key: pub.key });
    expect(bad.status).toBe(400);
    expect(bad.body.payload.problems.map((p: string) => p.split(':')[0]).sort()).toEqual(['page_number', 'page_size']);
    expect((await api(t.url, 'GET', '/__api__/v1/groups')).status).toBe(401);
  });

  it('gets one group, and answers 404 for unknown and malformed guids', async () => {
    const g = (await create('fetch-me')).body;
    expect((await api(t.url, 'GET', `/__api__/v1/groups/${g.guid}`, { key: viewer.key })).body).toEqual(g);
    for (const guid of [NOBODY, 'not-a-guid', '1', `${g.guid}x`]) {
      for (const path of [`/__api__/v1/groups/${guid}`, `/__api__/v1/groups/${guid}/members`]) {
        const res = await api(t.url, 'GET', path, { key: pub.key });
        expect(res.status, path).toBe(404);
        expect(Object.keys(res.body).sort()).toEqual(CONNECT_ERROR);
      }
      expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${guid}`, { key: t.admin.key })).status).toBe(404);
      expect((await api(t.url, 'POST', `/__api__/v1/groups/${guid}/members`, { key: t.admin.key, body: { user_guid: pub.user.guid } })).status).toBe(404);
    }
  });

  it('lets the group owner and administrators manage members', async () => {
    const g = (await create('members-club')).body;
    const members = `/__api__/v1/groups/${g.guid}/members`;
    const add = (user_guid: unknown, key = pub.key) => api(t.url, 'POST', members, { key, body: { user_guid } });

    const added = await add(viewer.user.guid);
    expect(added.status).toBe(200);
    expect(added.body).toEqual({});
    expect((await add(other.user.guid, t.admin.key)).status).toBe(200);
    expect((await add(pub.user.guid, other.key)).status).toBe(403);
    expect((await add(pub.user.guid, viewer.key)).status).toBe(403);

    const dup = await add(viewer.user.guid);
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatch(/already a member/);
    const unknown = await add(NOBODY);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain(NOBODY);
    expect((await add('not-a-guid')).status).toBe(400);
    const typed = await add(7);
    expect(typed.status).toBe(400);
    expect(typed.body.payload.problems[0]).toMatch(/^user_guid:/);

    const list = await api(t.url, 'GET', members, { key: pub.key });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.results.map((u: { guid: string }) => u.guid).sort()).toEqual([viewer.user.guid, other.user.guid].sort());
    // Each member is Connect's v1 UserRecord, as GET /v1/user gives it (active_time moves on).
    const { active_time: _, ...me } = (await api(t.url, 'GET', '/__api__/v1/user', { key: viewer.key })).body;
    const record = list.body.results.find((u: { guid: string }) => u.guid === viewer.user.guid);
    expect(Object.keys(record).sort()).toEqual([...Object.keys(me), 'active_time'].sort());
    expect(record).toMatchObject(me);
    // A viewer sees the members of their own groups only.
    expect((await api(t.url, 'GET', members, { key: viewer.key })).body.total).toBe(2);
    const elsewhere = (await create('not-yours')).body;
    expect((await api(t.url, 'GET', `/__api__/v1/groups/${elsewhere.guid}/members`, { key: viewer.key })).status).toBe(403);
    expect((await api(t.url, 'GET', `/__api__/v1/groups/${elsewhere.guid}/members`, { key: other.key })).body).toEqual({ results: [], total: 0 });

    expect((await api(t.url, 'DELETE', `${members}/${viewer.user.guid}`, { key: other.key })).status).toBe(403);
    const removed = await api(t.url, 'DELETE', `${members}/${viewer.user.guid}`, { key: pub.key });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({});
    expect((await api(t.url, 'DELETE', `${members}/${viewer.user.guid}`, { key: pub.key })).status).toBe(404);
    expect((await api(t.url, 'DELETE', `${members}/not-a-guid`, { key: pub.key })).status).toBe(404);
    expect((await api(t.url, 'DELETE', `${members}/${other.user.guid}`, { key: t.admin.key })).status).toBe(200);
    expect((await api(t.url, 'GET', members, { key: pub.key })).body).toEqual({ results: [], total: 0 });

    const audit = (await t.server.ctx.audit.recent(200)).filter((e) => e.targetId === g.guid);
    expect(audit.filter((e) => e.action === 'group.member.add')).toHaveLength(2);
    expect(
      audit
        .filter((e) => e.action === 'group.member.remove')
        .map((e) => e.details.user_guid)
        .sort(),
    ).toEqual([viewer.user.guid, other.user.guid].sort());
  });

  it('deletes a group for its owner or an administrator, with its memberships', async () => {
    const g = (await create('short-lived')).body;
    await api(t.url, 'POST', `/__api__/v1/groups/${g.guid}/members`, { key: pub.key, body: { user_guid: other.user.guid } });
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${g.guid}`, { key: other.key })).status).toBe(403);
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${g.guid}`, { key: viewer.key })).status).toBe(403);
    const gone = await api(t.url, 'DELETE', `/__api__/v1/groups/${g.guid}`, { key: pub.key });
    expect(gone.status).toBe(200);
    expect(gone.body).toEqual({});
    expect((await api(t.url, 'GET', `/__api__/v1/groups/${g.guid}`, { key: pub.key })).status).toBe(404);
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${g.guid}`, { key: pub.key })).status).toBe(404);
    const knex = t.server.ctx.db.knex;
    expect(Number((await knex('group_members').where({ user_id: other.user.id }).count({ n: '*' }).first())!.n)).toBe(0);

    const theirs = (await create('admin-removes', other.key)).body;
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${theirs.guid}`, { key: t.admin.key })).status).toBe(200);
    const audit = await t.server.ctx.audit.recent(100, 'group.delete');
    expect(audit.map((e) => e.targetId)).toEqual(expect.arrayContaining([g.guid, theirs.guid]));
    expect(audit.find((e) => e.targetId === theirs.guid)!.actorUserId).toBe(t.admin.user.id);
  });
});
