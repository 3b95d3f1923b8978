import { afterEach, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// Proxied authentication: every request here comes from 127.0.0.1, so "a trusted proxy" is
// trustedProxies naming loopback, and "anyone else" is a list that leaves it out.
const SECRET = 'front-proxy-shared-secret-0123456789abcdef';
const proxy = (trustedProxies: string[], extra: Record<string, unknown> = {}) => ({
  proxy: { header: 'X-Auth-User', trustedProxies, groupsHeader: 'X-Auth-Groups', emailHeader: 'X-Auth-Email', secret: SECRET },
  roleMapping: [{ group: 'Publishers', role: 'publisher' as const }],
  ...extra,
});

/** What the front proxy sends: the user it authenticated, and the secret that proves it is the proxy. */
const viaProxy = (headers: Record<string, string>) => ({ 'X-Lectern-Proxy-Secret': SECRET, ...headers });

describe.each(DATABASES)('proxied authentication on %s', (kind) => {
  let t: TestServer;
  afterEach(async () => t?.close());

  it('logs in the user a trusted proxy names, with their groups and email, and keeps the session', async () => {
    t = await startTestServer(kind, { config: { auth: proxy(['127.0.0.1/32', '::1/128']) } });
    const b = new BrowserSession(t.url);
    const first = await b.request('GET', '/', {
      headers: viaProxy({ 'X-Auth-User': 'pat', 'X-Auth-Groups': 'Publishers, Finance', 'X-Auth-Email': 'pat@example.org' }),
    });
    expect(first.status).toBe(200);
    expect(first.text).toContain('Signed in as <strong>pat</strong> (publisher)');
    expect(b.cookies.has('lectern_session')).toBe(true);
    // The session carries on without the header (a page's own requests, say).
    expect((await b.get('/')).text).toContain('Signed in as <strong>pat</strong>');

    const pat = await t.server.ctx.users.byUsername('pat');
    expect(pat.email).toBe('pat@example.org');
    expect(await t.server.ctx.groups.namesOf(pat)).toEqual(['Finance', 'Publishers']);
    expect((await t.server.ctx.repos.groups.byName('finance'))?.source).toBe('proxy');
    expect((await t.server.ctx.audit.recent(5, 'login.success'))[0]!.details).toMatchObject({ provider: 'proxy', username: 'pat' });

    // The proxy now names someone else: the session follows it.
    const other = await b.request('GET', '/', { headers: viaProxy({ 'X-Auth-User': 'quinn' }) });
    expect(other.status).toBe(200);
    expect(other.text).toContain('Signed in as <strong>quinn</strong> (viewer)');
  });

  it('believes no header from an address outside trustedProxies, X-Forwarded-For or not', async () => {
    t = await startTestServer(kind, { config: { server: { trustProxy: 1 }, auth: proxy(['10.0.0.0/8']) } });
    // Even with the proxy's secret: the address must be the proxy's too.
    const attempts: Array<Record<string, string>> = [
      viaProxy({ 'X-Auth-User': 'pat' }),
      viaProxy({ 'X-Auth-User': 'pat', 'X-Forwarded-For': '10.1.2.3' }),
      viaProxy({ 'X-Auth-User': 'admin', 'X-Forwarded-For': '10.1.2.3' }),
    ];
    for (const headers of attempts) {
      const b = new BrowserSession(t.url);
      const res = await b.request('GET', '/', { headers });
      expect(res.status).toBe(303);
      expect(res.location).toBe('/login?next=%2F');
      expect(b.cookies.has('lectern_session')).toBe(false);
    }
    expect((await t.server.ctx.users.list({ offset: 0, limit: 10 })).users.map((u) => u.username)).toEqual(['admin']);
  });

  it("believes no header without the proxy's secret, even from a trusted address (content on this host connects from loopback too), and never hands the secret to content", async () => {
    t = await startTestServer(kind, { config: { auth: proxy(['127.0.0.1/32', '::1/128']) } });
    const attempts: Array<Record<string, string>> = [
      { 'X-Auth-User': 'admin' },
      { 'X-Auth-User': 'admin', 'X-Lectern-Proxy-Secret': `${SECRET}x` },
      { 'X-Auth-User': 'admin', 'X-Lectern-Proxy-Secret': '' },
    ];
    for (const headers of attempts) {
      const b = new BrowserSession(t.url);
      const res = await b.request('GET', '/', { headers });
      expect(res.status).toBe(303);
      expect(b.cookies.has('lectern_session')).toBe(false);
    }
    expect((await t.server.ctx.audit.recent(5, 'login.success')).length).toBe(0);

    // An app sees the headers the viewer sent, but never the proxy's secret.
    const app = "require('http').createServer((q, r) => r.end(JSON.stringify(q.headers))).listen(Number(process.env.PORT), process.env.HOST);";
    const d = await deployBundle(t.url, t.admin.key, 'headers-echo', await makeBundle({ 'server.js': app }, { appmode: 'nodejs', entrypoint: 'server.js' }));
    expect(d.task.code, d.log).toBe(0);
    const seen = await get(`${t.contentUrl}/content/${d.content.guid}/`, t.admin.key, viaProxy({ 'X-Auth-User': 'pat' }));
    expect(seen.status).toBe(200);
    const headers = JSON.parse(seen.text) as Record<string, string>;
    expect(headers['x-auth-user']).toBe('pat');
    expect(headers['x-lectern-proxy-secret']).toBeUndefined();
    expect(seen.text).not.toContain(SECRET);
  });

  it("never joins another provider's group of the same name, nor takes a role from a rule for another provider", async () => {
    t = await startTestServer(kind, {
      config: { auth: proxy(['127.0.0.1/32', '::1/128'], { roleMapping: [{ group: 'Publishers', role: 'publisher', provider: 'corp-sso' }] }) },
    });
    // A group the directory vouches for, content shared with it.
    await t.server.ctx.repos.groups.ensureRemote('Finance', 'ldap', (n) => n.toLowerCase());
    const b = new BrowserSession(t.url);
    const res = await b.request('GET', '/', { headers: viaProxy({ 'X-Auth-User': 'mallory', 'X-Auth-Groups': 'Finance, Publishers' }) });
    expect(res.text).toContain('Signed in as <strong>mallory</strong> (viewer)');
    const mallory = await t.server.ctx.users.byUsername('mallory');
    // Publishers is the proxy's own group now; Finance stays the directory's alone.
    expect(await t.server.ctx.groups.namesOf(mallory)).toEqual(['Publishers']);
  });

  it('refuses to take over a local account of the same name unless linkExistingUsers, and refuses a locked user', async () => {
    t = await startTestServer(kind, { config: { auth: proxy(['127.0.0.1/32']) } });
    await t.createUser('erin', 'publisher');
    const refused = await new BrowserSession(t.url).request('GET', '/', { headers: viaProxy({ 'X-Auth-User': 'erin' }) });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('A Lectern account named erin already exists and is not linked to your proxy login');
    expect((await t.server.ctx.audit.recent(5, 'login.failure'))[0]!.details).toMatchObject({ provider: 'proxy', username: 'erin', reason: 'username-taken' });
    await t.close();

    t = await startTestServer(kind, { config: { auth: proxy(['127.0.0.1/32'], { linkExistingUsers: true }) } });
    const { user: erin } = await t.createUser('erin', 'publisher');
    // The role rules govern the proxy's users, so her role is what her groups give there.
    const linked = await new BrowserSession(t.url).request('GET', '/', { headers: viaProxy({ 'X-Auth-User': 'erin', 'X-Auth-Groups': 'Publishers' }) });
    expect(linked.status).toBe(200);
    expect(linked.text).toContain('Signed in as <strong>erin</strong> (publisher)');
    expect((await t.server.ctx.audit.recent(5, 'user.link'))[0]).toMatchObject({ targetId: erin.guid, details: { provider: 'proxy' } });
    // Linking never reaches an administrator: whoever the proxy calls admin does not own the server.
    const admin = await new BrowserSession(t.url).request('GET', '/', { headers: viaProxy({ 'X-Auth-User': 'admin', 'X-Auth-Groups': 'Publishers' }) });
    expect(admin.text).toContain('A Lectern account named admin already exists');
    expect(admin.text).not.toContain('Signed in as');

    await t.server.ctx.users.setLocked({ userId: null, via: 'system' }, erin, true);
    const locked = await new BrowserSession(t.url).request('GET', '/', { headers: viaProxy({ 'X-Auth-User': 'erin' }) });
    expect(locked.status).toBe(403);
    expect(locked.text).toContain('Your Lectern account is locked');
  });

  it('switches password logins off: no form, posts refused, API keys still work', async () => {
    t = await startTestServer(kind, { config: { auth: proxy(['127.0.0.1/32'], { password: { enabled: false } }) } });
    const page = await new BrowserSession(t.url).get('/login');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('name="password"');
    const post = await new BrowserSession(t.url).request('POST', '/login', { form: { username: 'admin', password: t.admin.password } });
    expect(post.status).toBe(403);
    expect(post.text).toContain('Logging in with a password is switched off');
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: t.admin.key })).body).toMatchObject({ username: 'admin' });
  });
});
