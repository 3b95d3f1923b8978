import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

// Connect's one format (connect-api-next.md §0): RFC 3339 in UTC, whole seconds.
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Every `*_time` (and `*_at`) field anywhere in a JSON answer, with where it was. */
function timestamps(value: unknown, where: string, out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (Array.isArray(value)) value.forEach((v, i) => timestamps(v, `${where}[${i}]`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (/_(time|at)$/.test(k)) out.push([`${where}.${k}`, v]);
      timestamps(v, `${where}.${k}`, out);
    }
  }
  return out;
}

const APP = `require('http').createServer((q, s) => s.end('up')).listen(Number(process.env.PORT), process.env.HOST);`;

describe.each(DATABASES)('timestamps in the API (%s)', (kind) => {
  let t: TestServer;
  let pub: Awaited<ReturnType<TestServer['createUser']>>;
  beforeAll(async () => {
    t = await startTestServer(kind);
    pub = await t.createUser('ts-pub', 'publisher');
  });
  afterAll(async () => t?.close());

  it('are RFC 3339 in UTC, whole seconds, in every content, bundle, task, job, user, group, key and vanity answer', async () => {
    const d = await deployBundle(t.url, pub.key, 'stamped', await makeBundle({ 'server.js': APP }, { appmode: 'nodejs', entrypoint: 'server.js' }));
    expect(d.task.code, d.log).toBe(0);
    const again = await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/deploy`, { key: pub.key, body: {} });
    expect((await followTaskV1(t.url, pub.key, again.body.task_id)).code).toBe(0);
    expect((await get(`${t.url}/content/${d.content.guid}/`, pub.key)).text).toBe('up');
    const { guid, id } = d.content;
    await api(t.url, 'PUT', `/__api__/v1/content/${guid}/vanity`, { key: pub.key, body: { path: '/stamped/' } });
    const group = (await api(t.url, 'POST', '/__api__/v1/groups', { key: t.admin.key, body: { name: 'stampers' } })).body;
    await api(t.url, 'POST', `/__api__/v1/groups/${group.guid}/members`, { key: t.admin.key, body: { user_guid: pub.user.guid } });
    const jobs = (await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key: pub.key })).body as Array<{ key: string }>;
    expect(jobs.length).toBeGreaterThan(0);

    const paths = [
      '/__api__/v1/content',
      '/__api__/v1/content?include=owner,tags',
      `/__api__/v1/content/${guid}`,
      '/__api__/v1/search/content?q=stamped',
      `/__api__/applications/${id}`,
      '/__api__/applications',
      `/__api__/v1/content/${guid}/bundles`,
      `/__api__/v1/content/${guid}/bundles/${d.bundleId}`,
      `/__api__/v1/tasks/${again.body.task_id}`,
      `/__api__/v1/content/${guid}/jobs`,
      `/__api__/v1/content/${guid}/jobs/${jobs[0]!.key}`,
      `/__api__/v1/content/${guid}/vanity`,
      '/__api__/v1/vanities',
      '/__api__/v1/user',
      '/__api__/me',
      '/__api__/v1/users',
      `/__api__/v1/users/${pub.user.guid}`,
      '/__api__/v1/groups',
      `/__api__/v1/groups/${group.guid}/members`,
      '/__api__/v1/user/api_keys',
    ];
    const seen = new Set<string>();
    for (const p of paths) {
      const res = await api(t.url, 'GET', p, { key: p.includes('/users') || p.includes('/groups') ? t.admin.key : pub.key });
      expect(res.status, p).toBe(200);
      for (const [where, v] of timestamps(res.body, p)) {
        seen.add(where.replace(/\[\d+\]/g, '[]').replace(/^.*\./, ''));
        if (v !== null) expect(v, where).toMatch(RFC3339_UTC);
      }
    }
    // The walk met the fields it is meant to check.
    for (const f of ['created_time', 'last_deployed_time', 'start_time', 'active_time', 'updated_time']) expect(seen, f).toContain(f);
  });
});
