import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Content } from '../../src/domain/content.ts';
import type { User } from '../../src/domain/user.ts';
import { staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

type Access = 'acl' | 'logged_in' | 'all';
type Who =
  | 'administrator'
  | 'publisher-owner'
  | 'publisher-collaborator'
  | 'publisher-viewer-by-user'
  | 'viewer-by-group'
  | 'unlisted-publisher'
  | 'unlisted-viewer'
  | 'locked-user'
  | 'anonymous';
/** `login`: a browser is sent to /login, a JSON caller without a key gets 401. */
type Page = 200 | 401 | 404 | 'login';
type Row = [who: Who, access: Access, get: number, appRole: string | null, listed: boolean | 401, patch: number, page: Page, draft: Page];

// Every person against every access type. GET and PATCH are /__api__/v1/content/{guid}; "listed"
// is whether the item is in GET /v1/content and GET /applications (with that app_role); "page"
// is /content/{guid}/ (the live static bundle) and "draft" /content/{guid}/_bundle{id}/.
// A locked user's API key is refused outright (401), before any content rule applies.
// prettier-ignore
const MATRIX: Row[] = [
  // who                        access       GET  app_role   listed PATCH page     draft
  ['administrator',             'acl',       200, 'editor',  true,  200,  200,     200],
  ['administrator',             'logged_in', 200, 'editor',  true,  200,  200,     200],
  ['administrator',             'all',       200, 'editor',  true,  200,  200,     200],
  ['publisher-owner',           'acl',       200, 'owner',   true,  200,  200,     200],
  ['publisher-owner',           'logged_in', 200, 'owner',   true,  200,  200,     200],
  ['publisher-owner',           'all',       200, 'owner',   true,  200,  200,     200],
  ['publisher-collaborator',    'acl',       200, 'editor',  true,  200,  200,     200],
  ['publisher-collaborator',    'logged_in', 200, 'editor',  true,  200,  200,     200],
  ['publisher-collaborator',    'all',       200, 'editor',  true,  200,  200,     200],
  ['publisher-viewer-by-user',  'acl',       200, 'viewer',  true,  403,  200,     404],
  ['publisher-viewer-by-user',  'logged_in', 200, 'viewer',  true,  403,  200,     404],
  ['publisher-viewer-by-user',  'all',       200, 'viewer',  true,  403,  200,     404],
  ['viewer-by-group',           'acl',       200, 'viewer',  true,  403,  200,     404],
  ['viewer-by-group',           'logged_in', 200, 'viewer',  true,  403,  200,     404],
  ['viewer-by-group',           'all',       200, 'viewer',  true,  403,  200,     404],
  ['unlisted-publisher',        'acl',       404, null,      false, 404,  404,     404],
  ['unlisted-publisher',        'logged_in', 200, 'viewer',  true,  403,  200,     404],
  ['unlisted-publisher',        'all',       200, 'viewer',  true,  403,  200,     404],
  ['unlisted-viewer',           'acl',       404, null,      false, 404,  404,     404],
  ['unlisted-viewer',           'logged_in', 200, 'viewer',  true,  403,  200,     404],
  ['unlisted-viewer',           'all',       200, 'viewer',  true,  403,  200,     404],
  ['locked-user',               'acl',       401, null,      401,   401,  401,     401],
  ['locked-user',               'logged_in', 401, null,      401,   401,  401,     401],
  ['locked-user',               'all',       401, null,      401,   401,  401,     401],
  ['anonymous',                 'acl',       401, null,      401,   401,  'login', 'login'],
  ['anonymous',                 'logged_in', 401, null,      401,   401,  'login', 'login'],
  ['anonymous',                 'all',       401, null,      401,   401,  200,     'login'],
];

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/**
 * A request without an API key, following Lectern's own redirects (a separate content origin
 * is one more hop) until one points at the login page.
 */
async function anonymous(url: string, accept: string): Promise<{ status: number; login: boolean; text: string }> {
  let next = url;
  for (let hop = 0; hop < 4; hop++) {
    const res = await fetch(next, { headers: { accept }, redirect: 'manual' });
    const text = await res.text();
    const location = res.headers.get('location');
    if ((res.status !== 301 && res.status !== 302) || !location) return { status: res.status, login: false, text };
    const target = new URL(location, next);
    if (target.pathname === '/login') return { status: res.status, login: true, text };
    next = target.toString();
  }
  throw new Error(`too many redirects from ${url}`);
}

interface Person {
  key: string;
  user: User;
}

describe.each(DATABASES)('the content access model on %s', (kind) => {
  let t: TestServer;
  let olive: Person; // publisher, owns everything below
  let carl: Person; // publisher, collaborator
  let pat: Person; // publisher, viewer by a user permission
  let vera: Person; // viewer account, viewer through the group "readers"
  let ulysses: Person; // publisher with no grants
  let uma: Person; // viewer account with no grants
  let lou: Person; // publisher with a viewer permission, then locked
  let readers: string;
  const items = {} as Record<Access, { guid: string; id: string; draft: string }>;

  const grant = async (guid: string, principal_guid: string, role: 'owner' | 'viewer', principal_type: 'user' | 'group' = 'user', key = olive.key) => {
    const res = await api(t.url, 'POST', `/__api__/v1/content/${guid}/permissions`, { key, body: { principal_guid, principal_type, role } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string };
  };
  const newGroup = async (name: string, key = olive.key) => {
    const res = await api(t.url, 'POST', '/__api__/v1/groups', { key, body: { name } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.guid as string;
  };
  const join = async (group: string, user: Person, key = olive.key) => {
    expect((await api(t.url, 'POST', `/__api__/v1/groups/${group}/members`, { key, body: { user_guid: user.user.guid } })).status).toBe(200);
  };
  const lock = async (p: Person, locked: boolean) => {
    expect((await api(t.url, 'POST', `/__api__/v1/users/${p.user.guid}/lock`, { key: t.admin.key, body: { locked } })).status).toBe(200);
  };
  async function publish(guid: string, key: string, html: string, activate = true) {
    const up = await uploadChunked(t.url, `/__api__/v1/content/${guid}/bundles`, key, await staticBundle(html));
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${guid}/deploy`, { key, body: { bundle_id: up.body.id, activate } });
    expect(dep.status).toBe(202);
    const task = await followTaskV1(t.url, key, dep.body.task_id);
    expect(task.code, task.output.join('\n')).toBe(0);
    return up.body.id as string;
  }
  const contentOf = async (guid: string): Promise<Content> => (await t.server.ctx.repos.content.byGuid(guid))!;

  beforeAll(async () => {
    t = await startTestServer(kind);
    [olive, carl, pat, vera, ulysses, uma, lou] = await Promise.all([
      t.createUser('olive', 'publisher'),
      t.createUser('carl', 'publisher'),
      t.createUser('pat', 'publisher'),
      t.createUser('vera', 'viewer'),
      t.createUser('ulysses', 'publisher'),
      t.createUser('uma', 'viewer'),
      t.createUser('lou', 'publisher'),
    ]);
    readers = await newGroup('readers');
    await join(readers, vera);
    for (const access of ['acl', 'logged_in', 'all'] as const) {
      const d = await deployBundle(t.url, olive.key, `matrix-${access.replace('_', '-')}`, await staticBundle(`<p>live ${access}</p>`), {
        access_type: access,
      });
      expect(d.task.code, d.log).toBe(0);
      const draft = await publish(d.content.guid, olive.key, `<p>draft ${access}</p>`, false);
      items[access] = { guid: d.content.guid, id: d.content.id, draft };
      await grant(d.content.guid, carl.user.guid, 'owner');
      await grant(d.content.guid, pat.user.guid, 'viewer');
      await grant(d.content.guid, readers, 'viewer', 'group');
      await grant(d.content.guid, lou.user.guid, 'viewer');
    }
    await lock(lou, true);
  });
  afterAll(async () => t?.close());

  const keyOf = (who: Who): string | undefined =>
    ({
      administrator: t.admin.key,
      'publisher-owner': olive.key,
      'publisher-collaborator': carl.key,
      'publisher-viewer-by-user': pat.key,
      'viewer-by-group': vera.key,
      'unlisted-publisher': ulysses.key,
      'unlisted-viewer': uma.key,
      'locked-user': lou.key,
      anonymous: undefined,
    })[who];

  it.each(MATRIX)('%s on %s content', async (who, access, getStatus, appRole, listed, patch, page, draft) => {
    const { guid, id, draft: draftId } = items[access];
    const key = keyOf(who);

    const got = await api(t.url, 'GET', `/__api__/v1/content/${guid}`, { key });
    expect(got.status, 'GET').toBe(getStatus);
    if (appRole) expect(got.body.app_role).toBe(appRole);
    if (getStatus !== 200) expect(Object.keys(got.body).sort()).toEqual(['code', 'error', 'payload']);

    const v1 = await api(t.url, 'GET', '/__api__/v1/content', { key });
    const v0 = await api(t.url, 'GET', '/__api__/applications?search=matrix-&count=100', { key });
    if (listed === 401) {
      expect([v1.status, v0.status]).toEqual([401, 401]);
    } else {
      expect(
        v1.body.some((c: { guid: string }) => c.guid === guid),
        'v1 list',
      ).toBe(listed);
      const app = v0.body.applications.find((a: { guid: string }) => a.guid === guid);
      expect(!!app, 'v0 list').toBe(listed);
      if (app) expect(app.app_role).toBe(appRole);
      if (appRole) expect(v1.body.find((c: { guid: string }) => c.guid === guid).app_role).toBe(appRole);
    }

    const patched = await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key, body: { title: `by ${who}` } });
    expect(patched.status, 'PATCH').toBe(patch);
    if (patch === 200) expect(patched.body).toMatchObject({ title: `by ${who}`, app_role: appRole });
    // The v0 spelling of the same change follows the same rule.
    const v0Patch = await api(t.url, 'POST', `/__api__/applications/${id}`, { key, body: { title: `v0 by ${who}` } });
    expect(v0Patch.status, 'v0 update').toBe(patch);

    const checkPage = async (path: string, expected: Page, text: string) => {
      if (key) {
        const res = await get(`${t.url}${path}`, key);
        expect(res.status, path).toBe(expected);
        if (expected === 200) expect(res.text).toContain(text);
        return;
      }
      const browser = await anonymous(`${t.url}${path}`, BROWSER);
      const json = await anonymous(`${t.url}${path}`, 'application/json');
      if (expected === 'login') {
        expect(browser, `${path} in a browser`).toMatchObject({ status: 302, login: true });
        expect(json.status, `${path} as JSON`).toBe(401);
        expect(JSON.parse(json.text)).toMatchObject({ code: 24 });
      } else {
        expect(browser.status, path).toBe(expected);
        expect(json.status, path).toBe(expected);
        if (expected === 200) expect(browser.text).toContain(text);
      }
    };
    await checkPage(`/content/${guid}/`, page, `live ${access}`);
    await checkPage(`/content/${guid}/_bundle${draftId}/`, draft, `draft ${access}`);
  });

  it('lets managers read and change permissions in Connect shape, with clear errors', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: olive.key, body: { name: 'perm-crud' } })).body;
    const path = `/__api__/v1/content/${c.guid}/permissions`;
    const team = await newGroup('perm-team');

    const collab = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: carl.user.guid, principal_type: 'user', role: 'owner' } });
    expect(collab.status).toBe(201);
    expect(collab.body).toEqual({
      id: expect.stringMatching(/^\d+$/),
      content_guid: c.guid,
      principal_guid: carl.user.guid,
      principal_type: 'user',
      role: 'owner',
    });
    // Collaborators manage permissions too.
    const group = await api(t.url, 'POST', path, { key: carl.key, body: { principal_guid: team, principal_type: 'group', role: 'viewer' } });
    expect(group.status).toBe(201);
    expect(group.body).toMatchObject({ principal_guid: team, principal_type: 'group', role: 'viewer' });

    expect((await api(t.url, 'GET', path, { key: olive.key })).body).toEqual([collab.body, group.body]);
    expect((await api(t.url, 'GET', `${path}/${collab.body.id}`, { key: t.admin.key })).body).toEqual(collab.body);

    const dup = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: carl.user.guid, principal_type: 'user', role: 'viewer' } });
    expect(dup.status).toBe(409);
    expect(Object.keys(dup.body).sort()).toEqual(['code', 'error', 'payload']);
    expect(dup.body.error).toMatch(/already has a permission/);

    const nobody = '00000000-0000-4000-8000-000000000000';
    const unknownUser = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: nobody, principal_type: 'user', role: 'viewer' } });
    expect(unknownUser.status).toBe(404);
    expect(unknownUser.body.error).toContain(nobody);
    expect((await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: nobody, principal_type: 'group', role: 'viewer' } })).status).toBe(404);
    const malformed = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: 'not-a-guid', principal_type: 'user', role: 'viewer' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/principal_guid/);

    const types = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: 5, principal_type: 'robot', role: 'admin' } });
    expect(types.status).toBe(400);
    expect(types.body.payload.problems.map((p: string) => p.split(':')[0]).sort()).toEqual(['principal_guid', 'principal_type', 'role']);
    expect((await api(t.url, 'POST', path, { key: olive.key, body: {} })).status).toBe(400);

    const self = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: olive.user.guid, principal_type: 'user', role: 'viewer' } });
    expect(self.status).toBe(400);
    expect(self.body.error).toMatch(/owner/);
    const viewerCollab = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: uma.user.guid, principal_type: 'user', role: 'owner' } });
    expect(viewerCollab.status).toBe(400);
    expect(viewerCollab.body.error).toMatch(/viewer user role.*only publishers and administrators/);
    const umaView = await api(t.url, 'POST', path, { key: olive.key, body: { principal_guid: uma.user.guid, principal_type: 'user', role: 'viewer' } });
    expect(umaView.status).toBe(201);

    // PUT changes the role (and may change the principal), with the same checks.
    const demoted = await api(t.url, 'PUT', `${path}/${collab.body.id}`, { key: olive.key, body: { ...collab.body, role: 'viewer' } });
    expect(demoted.status).toBe(200);
    expect(demoted.body).toEqual({ ...collab.body, role: 'viewer' });
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${c.guid}`, { key: carl.key, body: { title: 'x' } })).status).toBe(403);
    expect((await api(t.url, 'PUT', `${path}/${umaView.body.id}`, { key: olive.key, body: { role: 'owner' } })).status).toBe(400);
    expect((await api(t.url, 'PUT', `${path}/${umaView.body.id}`, { key: olive.key, body: { role: 'boss' } })).status).toBe(400);
    expect((await api(t.url, 'PUT', `${path}/${umaView.body.id}`, { key: olive.key, body: { principal_guid: carl.user.guid } })).status).toBe(409);

    // Viewers of the item see neither the list nor any entry; others cannot even see the item.
    for (const [method, p] of [
      ['GET', path],
      ['POST', path],
      ['GET', `${path}/${collab.body.id}`],
      ['DELETE', `${path}/${collab.body.id}`],
    ] as const) {
      expect(
        (
          await api(t.url, method, p, {
            key: uma.key,
            body: method === 'POST' ? { principal_guid: pat.user.guid, principal_type: 'user', role: 'viewer' } : undefined,
          })
        ).status,
        `${method} ${p}`,
      ).toBe(403);
      expect((await api(t.url, method, p, { key: ulysses.key })).status, `${method} ${p}`).toBe(404);
      expect((await api(t.url, method, p)).status).toBe(401);
    }

    const removed = await api(t.url, 'DELETE', `${path}/${collab.body.id}`, { key: olive.key });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({});
    expect((await api(t.url, 'GET', `${path}/${collab.body.id}`, { key: olive.key })).status).toBe(404);
    expect((await api(t.url, 'DELETE', `${path}/${collab.body.id}`, { key: olive.key })).status).toBe(404);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}`, { key: carl.key })).status).toBe(404);
    for (const bad of ['abc', '0', '99999999999', '-1']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        expect(
          (await api(t.url, method, `${path}/${bad}`, { key: olive.key, body: method === 'PUT' ? { role: 'viewer' } : undefined })).status,
          `${method} ${bad}`,
        ).toBe(404);
      }
    }
    // A permission id of another item is not this item's.
    const other = (await api(t.url, 'GET', `/__api__/v1/content/${items.acl.guid}/permissions`, { key: olive.key })).body[0].id;
    expect((await api(t.url, 'GET', `${path}/${other}`, { key: olive.key })).status).toBe(404);
    expect((await api(t.url, 'GET', '/__api__/v1/content/not-a-guid/permissions', { key: olive.key })).status).toBe(404);

    const audit = await t.server.ctx.audit.recent(500);
    const mine = audit.filter((e) => e.targetType === 'content' && e.targetId === c.guid).map((e) => e.action);
    expect(mine.filter((a) => a === 'permission.create')).toHaveLength(3);
    expect(mine).toContain('permission.update');
    expect(mine).toContain('permission.delete');
    const update = audit.find((e) => e.action === 'permission.update' && e.targetId === c.guid)!;
    expect(update.actorUserId).toBe(olive.user.id);
    expect(update.details).toMatchObject({ role: 'viewer', principal_guid: carl.user.guid, before: { role: 'owner' } });
  });

  it('lets a collaborator deploy and keeps a viewer from it', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: olive.key, body: { name: 'collab-deploy' } })).body;
    await grant(c.guid, carl.user.guid, 'owner');
    await grant(c.guid, pat.user.guid, 'viewer');

    const bundle = await publish(c.guid, carl.key, '<p>deployed by carl</p>');
    expect((await get(`${t.url}/content/${c.guid}/`, pat.key)).text).toContain('deployed by carl');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}`, { key: olive.key })).body.bundle_id).toBe(bundle);
    expect((await api(t.url, 'PUT', `/__api__/v1/content/${c.guid}/environment`, { key: carl.key, body: [{ name: 'MODE', value: 'x' }] })).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}/bundles`, { key: carl.key })).status).toBe(200);
    const draft = await publish(c.guid, carl.key, '<p>carl draft</p>', false);
    expect((await get(`${t.url}/content/${c.guid}/_bundle${draft}/`, carl.key)).text).toContain('carl draft');

    const upload = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, pat.key, await staticBundle('<p>pat</p>'));
    expect(upload.status).toBe(403);
    expect((await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key: pat.key, body: { bundle_id: bundle } })).status).toBe(403);
    expect((await api(t.url, 'POST', `/__api__/applications/${c.id}/deploy`, { key: pat.key, body: { bundle: Number(bundle) } })).status).toBe(403);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}/environment`, { key: pat.key })).status).toBe(403);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}/bundles`, { key: pat.key })).status).toBe(403);
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${c.guid}`, { key: pat.key })).status).toBe(403);
    expect((await get(`${t.url}/content/${c.guid}/_bundle${draft}/`, pat.key)).status).toBe(404);
  });

  it('grants access through group membership and revokes it as soon as the member leaves', async () => {
    const d = await deployBundle(t.url, olive.key, 'group-gate', await staticBundle('<p>for the team</p>'));
    const guid = d.content.guid;
    const team = await newGroup('gatekeepers');
    const perm = await grant(guid, team, 'viewer', 'group');
    const canSee = async (p: Person) => {
      const res = await api(t.url, 'GET', `/__api__/v1/content/${guid}`, { key: p.key });
      const listed = (await api(t.url, 'GET', '/__api__/v1/content', { key: p.key })).body.some((c: { guid: string }) => c.guid === guid);
      const page = (await get(`${t.url}/content/${guid}/`, p.key)).status;
      // The API, the listing and the content itself agree.
      expect(listed).toBe(res.status === 200);
      expect(page).toBe(res.status === 200 ? 200 : 404);
      return res.status === 200 ? (res.body.app_role as string) : res.status;
    };

    expect(await canSee(uma)).toBe(404);
    await join(team, uma);
    await join(team, ulysses);
    expect(await canSee(uma)).toBe('viewer');
    expect(await canSee(ulysses)).toBe('viewer');

    // A collaborating group makes its publishers editors; its viewer accounts stay viewers.
    expect((await api(t.url, 'PUT', `/__api__/v1/content/${guid}/permissions/${perm.id}`, { key: olive.key, body: { role: 'owner' } })).status).toBe(200);
    expect(await canSee(ulysses)).toBe('editor');
    expect(await canSee(uma)).toBe('viewer');
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: ulysses.key, body: { title: 'team edit' } })).status).toBe(200);
    expect((await api(t.url, 'PATCH', `/__api__/v1/content/${guid}`, { key: uma.key, body: { title: 'no' } })).status).toBe(403);

    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${team}/members/${uma.user.guid}`, { key: olive.key })).status).toBe(200);
    expect(await canSee(uma)).toBe(404);
    expect(await canSee(ulysses)).toBe('editor');

    // Deleting the group deletes its permission with it.
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${team}`, { key: olive.key })).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${guid}/permissions`, { key: olive.key })).body).toEqual([]);
    expect(await canSee(ulysses)).toBe(404);
  });

  it('shows a locked user nothing, whatever they were granted', async () => {
    const lena = await t.createUser('lena', 'publisher');
    const d = await deployBundle(t.url, olive.key, 'lock-test', await staticBundle('<p>lock</p>'), { access_type: 'all' });
    await grant(d.content.guid, lena.user.guid, 'owner');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}`, { key: lena.key })).body.app_role).toBe('editor');

    await lock(lena, true);
    const refused = await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}`, { key: lena.key });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe(30);
    expect((await get(`${t.url}/content/${d.content.guid}/`, lena.key)).status).toBe(401);
    // Below the key check, too: the access service itself gives a locked account nothing.
    const ctx = t.server.ctx;
    const locked = (await ctx.repos.users.byGuid(lena.user.guid))!;
    expect(locked.locked).toBe(true);
    const c = await contentOf(d.content.guid);
    expect(await ctx.access.role(locked, c)).toBe('none');
    expect(await ctx.access.canView(locked, c)).toBe(false);
    expect(await ctx.access.canManage(locked, c)).toBe(false);
    expect(await ctx.contentFiles.resolve(locked, c.guid, null)).toEqual({ ok: false, reason: 'not-found' });
    expect((await ctx.content.list(locked, { offset: 0, limit: 100 })).total).toBe(0);
    await expect(ctx.content.visible(locked, c.guid)).rejects.toMatchObject({ status: 404 });

    await lock(lena, false);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}`, { key: lena.key })).body.app_role).toBe('editor');
  });

  it('lists exactly what each user may see, once each, with correct totals and pages', async () => {
    const lister = await t.createUser('lister', 'publisher');
    const crew = await newGroup('list-crew');
    await join(crew, lister);
    const make = async (name: string, access: Access = 'acl', key = olive.key) =>
      (await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name, access_type: access } })).body.guid as string;
    const own = await make('lst-own', 'acl', lister.key);
    const byUser = await make('lst-by-user');
    await grant(byUser, lister.user.guid, 'viewer');
    const byGroup = await make('lst-by-group');
    await grant(byGroup, crew, 'viewer', 'group');
    const both = await make('lst-both');
    await grant(both, lister.user.guid, 'owner');
    await grant(both, crew, 'viewer', 'group');
    const loggedIn = await make('lst-logged-in', 'logged_in');
    const hidden = [await make('lst-hidden-a'), await make('lst-hidden-b')];
    const expected = new Map([
      [own, 'owner'],
      [byUser, 'viewer'],
      [byGroup, 'viewer'],
      [both, 'editor'],
      [loggedIn, 'viewer'],
    ]);

    const seen: Array<{ guid: string; app_role: string }> = [];
    for (let offset = 0; offset < 10; offset += 2) {
      const page = await api(t.url, 'GET', `/__api__/applications?search=lst-&count=2&offset=${offset}`, { key: lister.key });
      expect(page.body.total).toBe(expected.size);
      seen.push(...page.body.applications);
      if (page.body.continuation === '') break;
    }
    expect(seen).toHaveLength(expected.size);
    expect(new Map(seen.map((a) => [a.guid, a.app_role]))).toEqual(expected);

    const v1 = (await api(t.url, 'GET', '/__api__/v1/content', { key: lister.key })).body.filter((c: { name: string }) => c.name.startsWith('lst-'));
    expect(new Map(v1.map((c: { guid: string; app_role: string }) => [c.guid, c.app_role]))).toEqual(expected);

    // Administrators see all of it, hidden items included.
    const admin = await api(t.url, 'GET', '/__api__/applications?search=lst-&count=100', { key: t.admin.key });
    expect(admin.body.total).toBe(expected.size + hidden.length);
    expect(new Set(admin.body.applications.map((a: { app_role: string }) => a.app_role))).toEqual(new Set(['editor']));
    const adminV1 = (await api(t.url, 'GET', '/__api__/v1/content', { key: t.admin.key })).body.map((c: { guid: string }) => c.guid);
    for (const guid of [...expected.keys(), ...hidden, items.acl.guid]) expect(adminV1).toContain(guid);
  });

  it('deletes a user’s permissions with the user', async () => {
    const gone = await t.createUser('gone', 'publisher');
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: olive.key, body: { name: 'outlives' } })).body;
    await grant(c.guid, gone.user.guid, 'owner');
    await grant(c.guid, pat.user.guid, 'viewer');
    const knex = t.server.ctx.db.knex;
    await knex('users').where({ id: gone.user.id }).delete();
    expect(Number((await knex('content_permissions').where({ user_id: gone.user.id }).count({ n: '*' }).first())!.n)).toBe(0);
    const left = (await api(t.url, 'GET', `/__api__/v1/content/${c.guid}/permissions`, { key: olive.key })).body;
    expect(left.map((p: { principal_guid: string }) => p.principal_guid)).toEqual([pat.user.guid]);
  });
});
