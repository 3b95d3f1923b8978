import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRole } from '../../src/domain/user.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(DATABASES)('identity and user endpoints on %s', (kind) => {
  let t: TestServer;
  const keys = {} as Record<UserRole, string>;
  const guids = {} as Record<UserRole, string>;

  beforeAll(async () => {
    t = await startTestServer(kind);
    keys.administrator = t.admin.key;
    guids.administrator = t.admin.user.guid;
    for (const role of ['publisher', 'viewer'] as const) {
      const u = await t.createUser(`a-${role}`, role);
      keys[role] = u.key;
      guids[role] = u.user.guid;
    }
  });
  afterAll(async () => t?.close());

  it('serves server_settings anonymously with a Connect version', async () => {
    const res = await api(t.url, 'GET', '/__api__/server_settings');
    expect(res.status).toBe(200);
    expect(res.body.version).toMatch(/^\d{4}\.\d{2}\.\d+$/);
    expect((await api(t.url, 'GET', '/__api__/server_settings', { key: keys.viewer })).status).toBe(200);
  });

  it('answers who-am-I in the three client spellings', async () => {
    const v0 = await api(t.url, 'GET', '/__api__/users/current', { key: keys.publisher });
    expect(v0.status).toBe(200);
    expect(v0.body).toMatchObject({ username: 'a-publisher', user_role: 'publisher', guid: guids.publisher, locked: false });
    expect(typeof v0.body.id).toBe('number'); // rsconnect R stores it as accountId
    const me = await api(t.url, 'GET', '/__api__/me', { key: keys.publisher });
    // Same record; active_time moves on as the key is used.
    expect({ ...me.body, active_time: null }).toEqual({ ...v0.body, active_time: null });
    const v1 = await api(t.url, 'GET', '/__api__/v1/user', { key: keys.publisher });
    expect(v1.body).toMatchObject({ username: 'a-publisher', email: 'a-publisher@example.com', guid: guids.publisher, confirmed: true });
    expect(v1.body.id).toBeUndefined();
    expect(v1.body.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('serves /__ping__ and a health check', async () => {
    expect((await api(t.url, 'GET', '/__ping__')).status).toBe(200);
    const health = await api(t.url, 'GET', '/__health__');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', database: 'ok' });
  });

  // Who may do what to users. The expected statuses are the access rules.
  const matrix: Array<[string, UserRole, number]> = [
    ['list', 'administrator', 200],
    ['list', 'publisher', 200],
    ['list', 'viewer', 403],
    ['get-other', 'administrator', 200],
    ['get-other', 'publisher', 200],
    ['get-other', 'viewer', 403],
    ['get-self', 'viewer', 200],
    ['create', 'administrator', 201],
    ['create', 'publisher', 403],
    ['create', 'viewer', 403],
    ['lock', 'administrator', 200],
    ['lock', 'publisher', 403],
    ['lock', 'viewer', 403],
    ['update-other', 'administrator', 200],
    ['update-other', 'publisher', 403],
    ['update-self', 'viewer', 200],
    ['promote-self', 'viewer', 403],
    ['promote-self', 'publisher', 403],
  ];
  let n = 0;
  it.each(matrix)('%s as %s → %i', async (action, role, expected) => {
    const key = keys[role];
    const target = await t.createUser(`target-${role}-${n++}`, 'viewer');
    const own = guids[role];
    const res = await {
      list: () => api(t.url, 'GET', '/__api__/v1/users', { key }),
      'get-other': () => api(t.url, 'GET', `/__api__/v1/users/${target.user.guid}`, { key }),
      'get-self': () => api(t.url, 'GET', `/__api__/v1/users/${own}`, { key }),
      create: () =>
        api(t.url, 'POST', '/__api__/v1/users', { key, body: { username: `made-by-${role}-${n}`, user_role: 'viewer', password: 'long-enough-password' } }),
      lock: () => api(t.url, 'POST', `/__api__/v1/users/${target.user.guid}/lock`, { key, body: { locked: true } }),
      'update-other': () => api(t.url, 'PUT', `/__api__/v1/users/${target.user.guid}`, { key, body: { first_name: 'Changed' } }),
      'update-self': () => api(t.url, 'PUT', `/__api__/v1/users/${own}`, { key, body: { first_name: 'Me' } }),
      'promote-self': () => api(t.url, 'PUT', `/__api__/v1/users/${own}`, { key, body: { user_role: 'administrator' } }),
    }[action]!();
    expect(res.status, JSON.stringify(res.body)).toBe(expected);
    if (expected >= 400) {
      expect(Object.keys(res.body).sort()).toEqual(['code', 'error', 'payload']);
      expect(typeof res.body.code).toBe('number');
    }
  });

  it('creates users with a generated password when none is given, and refuses duplicates', async () => {
    const made = await api(t.url, 'POST', '/__api__/v1/users', {
      key: keys.administrator,
      body: { username: 'Grace', email: 'grace@example.com', user_role: 'publisher' },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ username: 'Grace', user_role: 'publisher', locked: false });
    expect(made.body.password).toMatch(/^\S{20}$/);
    const dup = await api(t.url, 'POST', '/__api__/v1/users', { key: keys.administrator, body: { username: 'grace', user_role: 'viewer' } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe(8);
    const audit = await t.server.ctx.audit.recent(5, 'user.create');
    expect(audit[0]).toMatchObject({ actorUserId: t.admin.user.id, targetId: made.body.guid });
  });

  it('names every wrongly typed field in a 400', async () => {
    const res = await api(t.url, 'POST', '/__api__/v1/users', { key: keys.administrator, body: { username: 42, user_role: 'emperor', email: ['x'] } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(25);
    expect(res.body.error).toMatch(/username/);
    expect(res.body.error).toMatch(/user_role/);
    expect(res.body.error).toMatch(/email/);
    expect(res.body.payload.problems).toHaveLength(3);
    const bad = await api(t.url, 'POST', '/__api__/v1/users', { key: keys.administrator, body: { username: '../etc', user_role: 'viewer' } });
    expect(bad.status).toBe(400);
    const weak = await api(t.url, 'POST', '/__api__/v1/users', { key: keys.administrator, body: { username: 'weak', password: 'abc' } });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe(6);
    const lockType = await api(t.url, 'POST', `/__api__/v1/users/${guids.viewer}/lock`, { key: keys.administrator, body: { locked: 'yes' } });
    expect(lockType.status).toBe(400);
  });

  it('pages and filters the user list', async () => {
    const page1 = await api(t.url, 'GET', '/__api__/v1/users?page_size=2&page_number=1', { key: keys.administrator });
    const page2 = await api(t.url, 'GET', '/__api__/v1/users?page_size=2&page_number=2', { key: keys.administrator });
    expect(page1.body.results).toHaveLength(2);
    expect(page1.body.current_page).toBe(1);
    expect(page2.body.results[0].guid).not.toBe(page1.body.results[0].guid);
    expect(page1.body.total).toBeGreaterThanOrEqual(3);
    const pubs = await api(t.url, 'GET', '/__api__/v1/users?user_role=publisher&prefix=a-', { key: keys.administrator });
    expect(pubs.body.results.map((u: { username: string }) => u.username)).toEqual(['a-publisher']);
    const past = await api(t.url, 'GET', '/__api__/v1/users?page_number=999', { key: keys.administrator });
    expect(past.body.results).toEqual([]);
    expect((await api(t.url, 'GET', '/__api__/v1/users?page_size=0', { key: keys.administrator })).status).toBe(400);
  });

  it('does not let an administrator lock themselves out', async () => {
    const res = await api(t.url, 'POST', `/__api__/v1/users/${guids.administrator}/lock`, { key: keys.administrator, body: { locked: true } });
    expect(res.status).toBe(400);
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: keys.administrator })).status).toBe(200);
  });

  it('404s an unknown user guid in the Connect shape', async () => {
    const res = await api(t.url, 'GET', '/__api__/v1/users/00000000-0000-4000-8000-000000000000', { key: keys.administrator });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 9, error: 'The requested user could not be found.', payload: null });
  });
});
