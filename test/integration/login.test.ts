import { afterEach, describe, expect, it } from 'vitest';
import { BrowserSession } from '../helpers/browser.ts';
import { DATABASES } from '../helpers/databases.ts';
import { runCli } from '../helpers/process.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';

/** A login page without what differs between any two loads of it (the CSRF token). */
const withoutToken = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, 'name="_csrf" value=""');

describe.each(DATABASES)('browser login on %s', (kind) => {
  let t: TestServer;
  afterEach(async () => t?.close());

  it('logs in, shows who you are, and logs out', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const b = new BrowserSession(t.url);

    const anon = await b.get('/');
    expect(anon.status).toBe(303);
    expect(anon.location).toBe('/login?next=%2F');

    const login = await b.login('alice', alice.password);
    expect(login.status).toBe(303);
    expect(login.location).toBe('/');
    const cookie = b.lastSetCookie.find((c) => c.startsWith('lectern_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // plain http here; see the https test below

    const home = await b.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Signed in as <strong>alice</strong> (publisher)');

    const out = await b.submit('/', '/logout', {});
    expect(out.status).toBe(303);
    expect(out.location).toBe('/login');
    expect((await b.get('/')).status).toBe(303);

    const actions = (await t.server.ctx.audit.recent(50)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['login.success', 'logout']));
  });

  it('does not write to the database on every page a logged-in user loads', async () => {
    // The scheduler's own ticks write (leases, claims): kept out of the count.
    t = await startTestServer(kind, { config: { reports: QUIET_SCHEDULER } });
    const bob = await t.createUser('bob', 'viewer');
    const b = new BrowserSession(t.url);
    await b.login('bob', bob.password);
    const before = t.server.ctx.writeGeneration();
    for (let i = 0; i < 20; i++) expect((await b.get('/')).status).toBe(200);
    // One touch of the session's expiry at most, not twenty.
    expect(t.server.ctx.writeGeneration() - before).toBeLessThanOrEqual(1);
  });

  it('sends the user back to where they were going, but never off-site', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'viewer');
    const b = new BrowserSession(t.url);
    expect((await b.login('alice', alice.password, '/password')).location).toBe('/password');
    const c = new BrowserSession(t.url);
    expect((await c.login('alice', alice.password, '//evil.example/x')).location).toBe('/');
  });

  it('refuses a wrong password with 401 and says so', async () => {
    t = await startTestServer(kind);
    await t.createUser('alice', 'viewer');
    const b = new BrowserSession(t.url);
    const res = await b.login('alice', 'not-her-password');
    expect(res.status).toBe(401);
    expect(res.text).toContain('Wrong username or password.');
    expect((await b.get('/')).status).toBe(303);
    const unknown = await b.login('nobody', 'whatever-password');
    expect(unknown.status).toBe(401);
    expect(unknown.text).toContain('Wrong username or password.');
    const failures = await t.server.ctx.audit.recent(10, 'login.failure');
    expect(failures).toHaveLength(2);
    expect(failures[1]!.details).toMatchObject({ reason: 'bad-credentials' });
  });

  it('refuses a locked user even with the right password, and ends their sessions', async () => {
    t = await startTestServer(kind);
    const bob = await t.createUser('bob', 'publisher');
    const b = new BrowserSession(t.url);
    await b.login('bob', bob.password);
    expect((await b.get('/')).status).toBe(200);

    await t.server.ctx.users.setLocked({ userId: t.admin.user.id, via: 'system' }, bob.user, true);
    expect((await b.get('/')).status).toBe(303); // the open session is gone

    const again = await new BrowserSession(t.url).login('bob', bob.password);
    expect(again.status).toBe(401);
    expect(again.text).toContain('Wrong username or password.');
  });

  it('answers a locked account exactly as a wrong password, so the page tells nothing', async () => {
    t = await startTestServer(kind);
    const bob = await t.createUser('bob', 'publisher');
    await t.createUser('carl', 'publisher');
    await t.server.ctx.users.setLocked({ userId: t.admin.user.id, via: 'system' }, bob.user, true);
    // The right password of a locked account, a wrong one of the same account, a wrong one of
    // an open account and an unknown name: one status and one page (but for the name typed).
    const answers = [
      await new BrowserSession(t.url).login('bob', bob.password),
      await new BrowserSession(t.url).login('bob', 'not-bobs-password'),
      await new BrowserSession(t.url).login('carl', 'not-carls-password'),
      await new BrowserSession(t.url).login('nobody', 'whatever-password'),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401]);
    const pages = answers.map((a, i) => withoutToken(a.text).replace(['bob', 'bob', 'carl', 'nobody'][i]!, 'NAME'));
    expect(new Set(pages).size).toBe(1);
    expect(pages[0]).not.toMatch(/lock/i);
    expect(answers[0]!.headers.get('retry-after')).toBeNull();
    // The audit log, for administrators, still says why.
    const failures = await t.server.ctx.audit.recent(10, 'login.failure');
    expect(failures.map((f) => (f.details as { reason: string }).reason).sort()).toEqual(['bad-credentials', 'bad-credentials', 'bad-credentials', 'locked']);
  });

  it('counts a guess before checking it: 25 parallel guesses get no more checks than the limit', async () => {
    t = await startTestServer(kind);
    const erin = await t.createUser('erin', 'viewer');
    const limit = t.server.ctx.config.auth.maxFailedLogins;
    expect(limit).toBe(5);
    // Count the password checks themselves.
    const users = t.server.ctx.users;
    const verify = users.verifyLogin.bind(users);
    let checked = 0;
    users.verifyLogin = (username, password) => {
      checked++;
      return verify(username, password);
    };
    // Each guess from a browser of its own with its form's token, all from one address, all at once.
    const forms = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const b = new BrowserSession(t.url);
        return { b, csrf: BrowserSession.csrfFrom((await b.get('/login')).text) };
      }),
    );
    const answers = await Promise.all(
      forms.map(({ b, csrf }, i) => b.request('POST', '/login', { form: { _csrf: csrf, username: 'erin', password: `wrong-guess-${i}` } })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(checked).toBeLessThanOrEqual(limit);
    expect(statuses.filter((s) => s === 401).length).toBe(checked);
    expect(await t.server.ctx.audit.recent(100, 'login.failure')).toHaveLength(checked);
    // The window is closed now, even for the right password.
    const right = await new BrowserSession(t.url).login('erin', erin.password);
    expect(right.status).toBe(429);
    expect(checked).toBeLessThanOrEqual(limit);
  });

  it('ends the other sessions when a password changes, and every session on a lock', async () => {
    t = await startTestServer(kind);
    const fay = await t.createUser('fay', 'publisher');
    const [here, there] = [new BrowserSession(t.url), new BrowserSession(t.url)];
    expect((await here.login('fay', fay.password)).status).toBe(303);
    expect((await there.login('fay', fay.password)).status).toBe(303);
    expect((await there.get('/')).status).toBe(200);

    const changed = await here.submit('/password', '/password', { current: fay.password, password: 'fays-new-password-1', confirm: 'fays-new-password-1' });
    expect(changed.status).toBe(303);
    expect((await here.get('/')).status).toBe(200); // the session that changed it stays
    expect((await there.get('/')).status).toBe(303);
    expect((await there.get('/')).location).toBe('/login?next=%2F');

    // A lock by an administrator (the API) ends all of them.
    const third = new BrowserSession(t.url);
    expect((await third.login('fay', 'fays-new-password-1')).status).toBe(303);
    expect((await third.get('/')).status).toBe(200);
    const lock = await api(t.url, 'POST', `/__api__/v1/users/${fay.user.guid}/lock`, { key: t.admin.key, body: { locked: true } });
    expect(lock.status).toBe(200);
    expect((await here.get('/')).status).toBe(303);
    expect((await third.get('/')).status).toBe(303);
  });

  it("ends a user's sessions when the CLI locks them (another process, the same database)", async () => {
    t = await startTestServer(kind);
    const gus = await t.createUser('gus', 'viewer');
    const [one, two] = [new BrowserSession(t.url), new BrowserSession(t.url)];
    await one.login('gus', gus.password);
    await two.login('gus', gus.password);
    expect((await one.get('/')).status).toBe(200);
    const locked = await runCli(['users', 'lock', 'gus'], { LECTERN_DATA_DIR: t.db.dataDir, LECTERN_DATABASE_URL: t.db.url });
    expect(locked.code, locked.stderr).toBe(0);
    expect((await one.get('/')).status).toBe(303);
    expect((await two.get('/')).status).toBe(303);
  });

  it('rate-limits failed logins, even when the right password follows', async () => {
    t = await startTestServer(kind, { config: { auth: { maxFailedLogins: 3 } } });
    const carol = await t.createUser('carol', 'viewer');
    const b = new BrowserSession(t.url);
    for (let i = 0; i < 3; i++) expect((await b.login('carol', `wrong-${i}`)).status).toBe(401);
    const blocked = await b.login('carol', carol.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.text).toContain('Too many failed logins');
    expect((await b.get('/')).status).toBe(303);
    // Another account from the same address is not locked out by carol's failures.
    const dave = await t.createUser('dave', 'viewer');
    expect((await new BrowserSession(t.url).login('dave', dave.password)).status).toBe(303);
    expect(await t.server.ctx.audit.recent(10, 'login.throttled')).toHaveLength(1);
  });

  it('rejects a login form without its CSRF token', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'viewer');
    const b = new BrowserSession(t.url);
    await b.get('/login');
    const res = await b.request('POST', '/login', { form: { username: 'alice', password: alice.password } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toMatch(/did not come from Lectern/);
    const forged = await b.request('POST', '/login', { form: { _csrf: 'forged', username: 'alice', password: alice.password } });
    expect(forged.status).toBe(403);
  });

  it('makes the first administrator replace the one-time password', async () => {
    t = await startTestServer(kind);
    const b = new BrowserSession(t.url);
    const login = await b.login('admin', t.admin.password);
    expect(login.location).toBe('/password');
    expect((await b.get('/')).location).toBe('/password');
    const weak = await b.submit('/password', '/password', { password: 'short', confirm: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('not strong enough');
    const ok = await b.submit('/password', '/password', { password: 'a-much-better-password', confirm: 'a-much-better-password' });
    expect(ok.status).toBe(303);
    expect((await b.get('/')).status).toBe(200);
    // The one-time password no longer works; the new one does.
    expect((await new BrowserSession(t.url).login('admin', t.admin.password)).status).toBe(401);
    expect((await new BrowserSession(t.url).login('admin', 'a-much-better-password')).location).toBe('/');
  });

  it('keeps sessions in the database, so they survive a restart', async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'viewer');
    const b = new BrowserSession(t.url);
    await b.login('alice', alice.password);
    await t.stop();
    t = await startTestServer(kind, { db: t.db });
    const again = new BrowserSession(t.url);
    for (const [k, v] of b.cookies) again.cookies.set(k, v);
    const home = await again.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Signed in as <strong>alice</strong>');
  });

  it('marks the cookie Secure when Lectern is served over https behind a TLS proxy', async () => {
    t = await startTestServer(kind, { config: { server: { publicUrl: 'https://lectern.example.com', trustProxy: 1 } } });
    const b = new BrowserSession(t.url);
    await b.request('GET', '/login', { headers: { 'x-forwarded-proto': 'https' } });
    expect(b.lastSetCookie.find((c) => c.startsWith('lectern_session='))).toMatch(/;\s*Secure/i);
  });
});
