import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { staticBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { BASE_DN, groupDn, personDn, SERVICE, startSlapd, type Slapd } from '../helpers/slapd.ts';
import { TestClock } from '../helpers/test-clock.ts';

/** The directory: alice in analysts, which is in data-science, which is in research; bob an admin. */
const PEOPLE = [
  { uid: 'alice', password: 'alice-pw-1234', givenName: 'Alice', sn: 'Archer', mail: 'alice@example.org' },
  { uid: 'bob', password: 'bob-pw-1234', givenName: 'Bob', sn: 'Baker', mail: 'bob@example.org' },
  { uid: 'carol', password: 'carol-pw-1234', givenName: 'Carol', sn: 'Cook' },
  { uid: 'dave', password: 'dave-pw-1234', givenName: 'Dave', sn: 'Diver' },
];
const GROUPS = [
  { cn: 'analysts', members: ['alice', 'dave'] },
  { cn: 'data-science', members: ['group:analysts'] },
  { cn: 'research', members: ['group:data-science'] },
  { cn: 'admins', members: ['bob'] },
];

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd(PEOPLE, GROUPS);
});
afterAll(async () => slapd?.stop());

function ldapAuth(extra: Record<string, unknown> = {}) {
  return {
    ldap: {
      url: slapd.url,
      bindDn: SERVICE.dn,
      bindPassword: SERVICE.password,
      userBase: `ou=people,${BASE_DN}`,
      userFilter: '(&(objectClass=inetOrgPerson)(uid={username}))',
      groups: { style: 'member' as const, base: `ou=groups,${BASE_DN}`, nested: 'walk' as const },
      ...extra,
    },
    roleMapping: [
      { group: 'admins', role: 'administrator' as const },
      { group: 'data-science', role: 'publisher' as const },
    ],
  };
}

const loginFailures = async (t: TestServer) => (await t.server.ctx.audit.recent(50, 'login.failure')).map((e) => e.details);

describe.each(DATABASES)('LDAP logins on %s', (kind) => {
  let t: TestServer;
  afterEach(async () => t?.close());

  it('logs a directory user in through the login form, provisions them with the mapped role and their nested groups, marked remote', async () => {
    t = await startTestServer(kind, { config: { auth: ldapAuth() } });
    const b = new BrowserSession(t.url);
    const login = await b.login('alice', 'alice-pw-1234');
    expect(login.status).toBe(303);
    expect(login.location).toBe('/');
    const home = await b.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Signed in as <strong>alice</strong> (publisher)');

    const alice = await t.server.ctx.users.byUsername('alice');
    expect(alice).toMatchObject({ email: 'alice@example.org', firstName: 'Alice', lastName: 'Archer', role: 'publisher', mustChangePassword: false });
    // Nested groups by the iterative walk (OpenLDAP has no LDAP_MATCHING_RULE_IN_CHAIN).
    expect(await t.server.ctx.groups.namesOf(alice)).toEqual(['analysts', 'data-science', 'research']);
    const analysts = await t.server.ctx.repos.groups.byName('analysts');
    expect(analysts).toMatchObject({ source: 'ldap', ownerId: null });
    // A remote user has no Lectern password: the local check never lets anyone in as them.
    expect(await t.server.ctx.users.hasPassword('alice')).toBe(false);

    const created = await t.server.ctx.audit.recent(10, 'user.create');
    expect(created[0]!.details).toMatchObject({ username: 'alice', role: 'publisher', provider: 'ldap' });
    const success = await t.server.ctx.audit.recent(10, 'login.success');
    expect(success[0]!.details).toMatchObject({ provider: 'ldap', username: 'alice' });
    expect((await t.server.ctx.audit.recent(10, 'group.member.add')).map((e) => e.details.provider)).toEqual(['ldap', 'ldap', 'ldap']);

    // The highest mapped role wins; no mapping: the default role.
    const bob = new BrowserSession(t.url);
    expect((await bob.login('BOB', 'bob-pw-1234')).status).toBe(303);
    expect((await bob.get('/')).text).toContain('Signed in as <strong>bob</strong> (administrator)');
    const carol = new BrowserSession(t.url);
    expect((await carol.login('carol', 'carol-pw-1234')).status).toBe(303);
    expect((await carol.get('/')).text).toContain('Signed in as <strong>carol</strong> (viewer)');
    // The local administrator still logs in with Lectern's own password beside LDAP.
    expect((await new BrowserSession(t.url).login('admin', t.admin.password)).status).toBe(303);
  });

  it('syncs groups and role at each login: memberships the directory dropped go, local groups stay', async () => {
    t = await startTestServer(kind, { config: { auth: ldapAuth() } });
    const b = new BrowserSession(t.url);
    expect((await b.login('dave', 'dave-pw-1234')).status).toBe(303);
    const dave = await t.server.ctx.users.byUsername('dave');
    expect(await t.server.ctx.groups.namesOf(dave)).toEqual(['analysts', 'data-science', 'research']);
    // A local group with dave in it, which no sync may touch.
    const local = await api(t.url, 'POST', '/__api__/v1/groups', { key: t.admin.key, body: { name: 'local-team' } });
    expect((await api(t.url, 'POST', `/__api__/v1/groups/${local.body.guid}/members`, { key: t.admin.key, body: { user_guid: dave.guid } })).status).toBe(200);

    slapd.modify(
      `dn: ${groupDn('analysts')}\nchangetype: modify\ndelete: member\nmember: ${personDn('dave')}\n\ndn: ${groupDn('admins')}\nchangetype: modify\nadd: member\nmember: ${personDn('dave')}\n`,
    );
    try {
      const again = new BrowserSession(t.url);
      expect((await again.login('dave', 'dave-pw-1234')).status).toBe(303);
      const after = await t.server.ctx.users.byUsername('dave');
      expect(await t.server.ctx.groups.namesOf(after)).toEqual(['admins', 'local-team']);
      expect(after.role).toBe('administrator');
      const removed = await t.server.ctx.audit.recent(10, 'group.member.remove');
      expect(removed.map((e) => e.details.username)).toEqual(['dave', 'dave', 'dave']);
      // The groups stay (content may be shared with them); only dave left them.
      expect(await t.server.ctx.repos.groups.byName('research')).toBeDefined();
    } finally {
      slapd.modify(
        `dn: ${groupDn('admins')}\nchangetype: modify\ndelete: member\nmember: ${personDn('dave')}\n\ndn: ${groupDn('analysts')}\nchangetype: modify\nadd: member\nmember: ${personDn('dave')}\n`,
      );
    }
  });

  it("lets a user's directory group (nested) open an access-listed item, and nobody outside it", async () => {
    t = await startTestServer(kind, { config: { auth: ldapAuth() } });
    const alice = new BrowserSession(t.url);
    expect((await alice.login('alice', 'alice-pw-1234')).status).toBe(303);
    const carol = new BrowserSession(t.url);
    expect((await carol.login('carol', 'carol-pw-1234')).status).toBe(303);

    const { content } = await deployBundle(t.url, t.admin.key, 'research-notes', await staticBundle('<h1>research notes</h1>'), { access_type: 'acl' });
    const research = await t.server.ctx.repos.groups.byName('research');
    const grant = await api(t.url, 'POST', `/__api__/v1/content/${content.guid}/permissions`, {
      key: t.admin.key,
      body: { principal_guid: research!.guid, principal_type: 'group', role: 'viewer' },
    });
    expect(grant.status).toBe(201);

    // The session cookie is the same on the content origin (cookies ignore ports).
    const open = async (who: BrowserSession) => {
      const c = new BrowserSession(t.contentUrl);
      for (const [k, v] of who.cookies) c.cookies.set(k, v);
      return c.get(`/content/${content.guid}/`);
    };
    const allowed = await open(alice);
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('research notes');
    const refused = await open(carol);
    expect(refused.status).not.toBe(200);
    expect(refused.text).not.toContain('research notes');
  });

  it('refuses local changes to remote groups, in the API (409, Connect error shape) and on the admin pages', async () => {
    t = await startTestServer(kind, { config: { auth: ldapAuth() } });
    expect((await new BrowserSession(t.url).login('alice', 'alice-pw-1234')).status).toBe(303);
    const analysts = (await t.server.ctx.repos.groups.byName('analysts'))!;
    const alice = await t.server.ctx.users.byUsername('alice');
    const { user: zoe } = await t.createUser('zoe', 'viewer');

    const add = await api(t.url, 'POST', `/__api__/v1/groups/${analysts.guid}/members`, { key: t.admin.key, body: { user_guid: zoe.guid } });
    expect(add.status).toBe(409);
    expect(add.body).toMatchObject({ code: 22, payload: null });
    expect(add.body.error).toContain('comes from the identity provider (ldap)');
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${analysts.guid}/members/${alice.guid}`, { key: t.admin.key })).status).toBe(409);
    expect((await api(t.url, 'DELETE', `/__api__/v1/groups/${analysts.guid}`, { key: t.admin.key })).status).toBe(409);
    expect(await t.server.ctx.groups.namesOf(alice)).toContain('analysts');

    const root = await t.createUser('root', 'administrator');
    const admin = new BrowserSession(t.url);
    expect((await admin.login('root', root.password)).status).toBe(303);
    const page = await admin.get(`/admin/groups/${analysts.guid}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('comes from the identity provider <strong>ldap</strong>');
    expect(page.text).not.toContain('Add member');
    expect(page.text).not.toContain('Delete group');
    const post = await admin.request('POST', `/admin/groups/${analysts.guid}/members`, {
      form: { _csrf: BrowserSession.csrfFrom(page.text), username: 'zoe' },
    });
    expect(post.status).toBe(409);
    expect(await t.server.ctx.groups.namesOf(zoe)).toEqual([]);
  });

  it('refuses injection attempts, empty and wrong passwords and locked users, and audits each', async () => {
    t = await startTestServer(kind, { config: { auth: ldapAuth() } });
    // Escaped, these are usernames nobody has: they find no entry, whatever the password.
    for (const attempt of ['*)(uid=*', 'admin)(|(uid=*', '*', 'alice)(uid=alice']) {
      const b = new BrowserSession(t.url);
      const res = await b.login(attempt, 'alice-pw-1234');
      expect(res.status, attempt).toBe(401);
      expect(res.text).toContain('Wrong username or password.');
      expect((await b.get('/')).status).toBe(303);
    }
    const injected = (await loginFailures(t)).filter((d) => d.reason === 'no-such-user').map((d) => d.username);
    expect(injected.sort()).toEqual(['*', '*)(uid=*', 'admin)(|(uid=*', 'alice)(uid=alice'].sort());

    // An empty password never reaches a bind (slapd here, like Active Directory, accepts an
    // unauthenticated bind); the form refuses it before any provider.
    const empty = new BrowserSession(t.url);
    expect((await empty.login('alice', '')).status).toBe(401);
    expect((await empty.get('/')).status).toBe(303);

    const wrong = new BrowserSession(t.url);
    expect((await wrong.login('alice', 'not-alices-password')).status).toBe(401);
    expect((await loginFailures(t))[0]).toMatchObject({ provider: 'ldap', username: 'alice', reason: 'bad-credentials' });

    // A locked user is refused with the right password, answered as a wrong one.
    expect((await new BrowserSession(t.url).login('alice', 'alice-pw-1234')).status).toBe(303);
    const alice = await t.server.ctx.users.byUsername('alice');
    await t.server.ctx.users.setLocked({ userId: null, via: 'system' }, alice, true);
    const locked = await new BrowserSession(t.url).login('alice', 'alice-pw-1234');
    expect(locked.status).toBe(401);
    expect(locked.text).toContain('Wrong username or password.');
    expect((await loginFailures(t))[0]).toMatchObject({ provider: 'ldap', username: 'alice', reason: 'locked' });
  });

  it('with password logins switched off: LDAP only through the form, local passwords refused, API keys still work', async () => {
    t = await startTestServer(kind, { config: { auth: { ...ldapAuth(), password: { enabled: false } } } });
    expect((await new BrowserSession(t.url).login('admin', t.admin.password)).status).toBe(401);
    expect((await loginFailures(t))[0]).toMatchObject({ provider: 'ldap', username: 'admin', reason: 'no-such-user' });
    expect((await new BrowserSession(t.url).login('alice', 'alice-pw-1234')).status).toBe(303);
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: t.admin.key })).status).toBe(200);
  });

  it('re-reads the groups of LDAP users on a schedule', async () => {
    const clock = new TestClock('2027-03-01T09:00:00Z');
    t = await startTestServer(kind, { config: { auth: ldapAuth({ groupSyncHours: 1 }), reports: QUIET_SCHEDULER }, clock: clock.now });
    expect((await new BrowserSession(t.url).login('dave', 'dave-pw-1234')).status).toBe(303);
    const dave = await t.server.ctx.users.byUsername('dave');
    expect(await t.server.ctx.groups.namesOf(dave)).toEqual(['analysts', 'data-science', 'research']);
    expect(dave.role).toBe('publisher');
    slapd.modify(`dn: ${groupDn('analysts')}\nchangetype: modify\ndelete: member\nmember: ${personDn('dave')}\n`);
    try {
      // Not yet due: nothing changes.
      clock.advance(30 * 60_000);
      await t.server.scheduler.tick();
      await t.server.scheduler.settled();
      expect(await t.server.ctx.groups.namesOf(dave)).toEqual(['analysts', 'data-science', 'research']);
      clock.advance(31 * 60_000);
      await t.server.scheduler.tick();
      await t.server.scheduler.settled();
      expect(await t.server.ctx.groups.namesOf(dave)).toEqual([]);
      // Out of data-science, out of the publishers: the mapping no longer gives a role, so the default.
      expect((await t.server.ctx.users.byUsername('dave')).role).toBe('viewer');
      const removed = await t.server.ctx.audit.recent(10, 'group.member.remove');
      expect(removed).toHaveLength(3);
      expect(removed[0]!.details).toMatchObject({ username: 'dave', provider: 'ldap', via: 'system' });
    } finally {
      slapd.modify(`dn: ${groupDn('analysts')}\nchangetype: modify\nadd: member\nmember: ${personDn('dave')}\n`);
    }
  });
});
