import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.ts';
import { startOidcIdp, type OidcIdp } from '../helpers/oidc-idp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { loginFailures, secretFile, sessionOf } from '../helpers/sso.ts';
import { WebAgent } from '../helpers/web-agent.ts';
import { freePort } from '../../runtimes/local/ports.ts';

const OTHER = { client_id: 'other-app', client_secret: 'other-app-secret-0123456789abcdef' };

describe.each(DATABASES)('OpenID Connect login against a real provider (%s)', (kind) => {
  let idp: OidcIdp;
  let mirror: { issuer: string; close(): Promise<void> };
  let t: TestServer;

  beforeAll(async () => {
    const port = await freePort();
    idp = await startOidcIdp({ lecternUrl: `http://127.0.0.1:${port}`, idTokenTtl: 2, extraClients: [OTHER] });
    mirror = await idp.startMirror();
    idp.accounts.set('alice', {
      sub: 'alice',
      preferred_username: 'alice',
      email: 'alice@corp.example',
      given_name: 'Alice',
      family_name: 'Archer',
      groups: ['Data Science', 'Finance'],
      lectern_role: 'publisher',
    });
    const secret = secretFile(mkdtempSync(path.join(os.tmpdir(), 'lectern-oidc-')), 'oidc-secret', idp.clientSecret);
    const provider = (name: string, issuer: string) => ({
      name,
      displayName: `Company SSO (${name})`,
      issuer,
      clientId: idp.clientId,
      clientSecretFile: secret,
      scopes: ['openid', 'profile', 'email', 'groups'],
      roleClaim: 'lectern_role',
      allowInsecureHttp: true,
    });
    t = await startTestServer(kind, {
      config: { server: { port, contentPort: 0 }, auth: { oidc: [provider('idp', idp.issuer), provider('other', mirror.issuer)] } },
    });
  });
  afterAll(async () => {
    await t?.close();
    await mirror?.close();
    await idp?.close();
  });

  const isCallback = (name: string) => (u: string) => u.startsWith(`${t.url}/__login__/${name}/callback`);

  /** Starts a login and signs in at the provider's form; stops at Lectern's callback (returned, not yet requested). */
  async function signInAtProvider(agent: WebAgent, login: string, name = 'idp', next = '/') {
    const form = await agent.follow(`${t.url}/__login__/${name}?next=${encodeURIComponent(next)}`);
    expect(form.url.startsWith(idp.issuer)).toBe(true);
    const back = await agent.submit(form, { login, password: 'anything' }, isCallback(name));
    expect(back.location).toMatch(/[?&]code=/);
    return back.location!;
  }

  it('logs in: code flow with PKCE and a nonce, claims from userinfo, the user provisioned', async () => {
    const agent = new WebAgent();
    const start = await agent.request(`${t.url}/__login__/idp?next=/admin`);
    expect(start.status).toBe(303);
    const auth = new URL(start.location!);
    expect(auth.origin).toBe(idp.issuer);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('state')).toBeTruthy();
    expect(auth.searchParams.get('nonce')).toBeTruthy();
    expect(auth.searchParams.get('redirect_uri')).toBe(`${t.url}/__login__/idp/callback`);
    // The transaction is server-side: the cookie holds only the session id.
    const s = await sessionOf(t, agent);
    const pending = Object.values(s.data.logins as Record<string, { data: Record<string, string> }>)[0]!;
    expect(pending.data.state).toBe(auth.searchParams.get('state'));
    expect(agent.cookie('lectern_session')!.length).toBeLessThan(120);

    const callback = await signInAtProvider(agent, 'alice');
    const done = await agent.request(callback);
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${t.url}/`);
    const catalog = await agent.request(`${t.url}/`);
    expect(catalog.status).toBe(200);
    expect(catalog.text).toContain('alice');
    const alice = await t.server.ctx.users.byUsername('alice');
    expect(alice).toMatchObject({ email: 'alice@corp.example', firstName: 'Alice', lastName: 'Archer', role: 'publisher', mustChangePassword: false });
    const logged = await sessionOf(t, agent);
    expect(logged.data.remote).toMatchObject({ provider: 'idp', subject: 'alice' });
    expect(logged.data.remote.refreshToken).toBeTruthy();
    expect(logged.data.logins).toBeUndefined();
  });

  it('refuses a replayed state: the callback used a second time, in the same browser or another', async () => {
    const agent = new WebAgent();
    const callback = await signInAtProvider(agent, 'bob');
    expect((await agent.request(callback)).status).toBe(303);
    const again = await agent.request(callback);
    expect(again.status).toBe(401);
    expect(again.text).toContain('its state is unknown or was already used');
    expect(again.text).not.toMatch(/at .*\.ts:\d+/);
    const stranger = await new WebAgent().request(callback);
    expect(stranger.status).toBe(401);
    expect((await loginFailures(t)).filter((r) => r.includes('state is unknown'))).toHaveLength(2);
  });

  it('refuses a wrong nonce (the session transaction tampered with), audited', async () => {
    const agent = new WebAgent();
    const form = await agent.follow(`${t.url}/__login__/idp`);
    const s = await sessionOf(t, agent);
    for (const p of Object.values(s.data.logins as Record<string, { data: Record<string, string> }>)) p.data.nonce = 'not-the-nonce-that-was-sent';
    await s.save();
    const back = await agent.submit(form, { login: 'carol', password: 'x' }, isCallback('idp'));
    const res = await agent.request(back.location!);
    expect(res.status).toBe(401);
    expect(res.text).toContain('a wrong nonce');
    expect((await loginFailures(t))[0]).toContain('a wrong nonce');
    await expect(t.server.ctx.users.byUsername('carol')).rejects.toThrow();
  });

  it('refuses an ID token made out to another client (audience), signed by the real provider', async () => {
    const agent = new WebAgent();
    idp.swapClient = OTHER;
    try {
      const callback = await signInAtProvider(agent, 'dave');
      const res = await agent.request(callback);
      expect(res.status).toBe(401);
      expect(res.text).toContain('another audience');
    } finally {
      idp.swapClient = undefined;
    }
    expect((await loginFailures(t))[0]).toContain('another audience');
  });

  it('refuses an answer from another issuer than the configured one', async () => {
    const agent = new WebAgent();
    const callback = await signInAtProvider(agent, 'erin', 'other');
    const res = await agent.request(callback);
    expect(res.status).toBe(401);
    expect(res.text).toMatch(/issuer/);
    expect((await loginFailures(t))[0]).toMatch(/issuer/);
  });

  it('renews the session with the refresh token once the ID token has run out; a refused refresh ends it', async () => {
    const agent = new WebAgent();
    await agent.request(await signInAtProvider(agent, 'frank'));
    const before = await sessionOf(t, agent);
    const grants = idp.grants.length;
    // The provider's ID tokens live two seconds here.
    await new Promise((r) => setTimeout(r, 2200));
    const page = await agent.request(`${t.url}/`);
    expect(page.status).toBe(200);
    expect(idp.grants.slice(grants)).toEqual(['refresh_token']);
    const after = await sessionOf(t, agent);
    expect(after.data.remote.expiresAt).toBeGreaterThan(before.data.remote.expiresAt);
    expect(after.data.remote.idToken).not.toBe(before.data.remote.idToken);

    // The provider no longer honours the refresh token: the Lectern session ends.
    after.data.remote.refreshToken = 'revoked-or-forged';
    after.data.remote.expiresAt = Date.now() - 1000;
    await after.save();
    const out = await agent.request(`${t.url}/`);
    expect(out.status).toBe(303);
    expect(out.location).toContain('/login');
    expect(idp.refreshErrors.length).toBeGreaterThan(0);
    expect((await loginFailures(t))[0]).toContain('could not be renewed');
  });

  it('logs out at the provider too (RP-initiated logout with id_token_hint)', async () => {
    const agent = new WebAgent();
    await agent.request(await signInAtProvider(agent, 'gina'));
    const page = await agent.request(`${t.url}/`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const out = await agent.request(`${t.url}/logout`, { form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    const end = new URL(out.location!);
    expect(`${end.origin}${end.pathname}`).toBe(`${idp.issuer}/session/end`);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${t.url}/login`);
    expect(end.searchParams.get('id_token_hint')).toBeTruthy();
    // The CSP lets the logout form's redirect go there.
    const csp = (await fetch(`${t.url}/login`)).headers.get('content-security-policy') ?? '';
    expect(/form-action ([^;]*)/.exec(csp)![1]).toContain(idp.issuer);
    expect((await agent.request(`${t.url}/`)).status).toBe(303);
  });
});
