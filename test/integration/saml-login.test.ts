import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.ts';
import { startSamlIdp, type SamlIdp } from '../helpers/saml-idp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { loginFailures } from '../helpers/sso.ts';
import { WebAgent, type AgentPage } from '../helpers/web-agent.ts';

describe.each(DATABASES)('SAML 2.0 login against a real identity provider (%s)', (kind) => {
  let idp: SamlIdp;
  let t: TestServer;

  beforeAll(async () => {
    idp = await startSamlIdp({ spMetadataUrl: () => `${t.url}/__login__/corp/metadata` });
    idp.accounts.set('sam', {
      nameID: 'sam',
      email: 'sam@corp.example',
      firstName: 'Sam',
      lastName: 'Sparrow',
      groups: ['Data Science', 'Finance Team'],
      role: 'publisher',
    });
    t = await startTestServer(kind, {
      config: {
        auth: {
          saml: [
            { name: 'corp', displayName: 'Corp SAML', entryPoint: idp.ssoUrl, idpCertFile: [idp.certFile], idpIssuer: idp.entityId, roleAttribute: 'role' },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });
  beforeEach(() => {
    idp.mode = 'signed';
  });

  /** Starts a login and signs in at the IdP: the page that posts the response to Lectern's ACS. */
  async function signInAtIdp(agent: WebAgent, username: string, next = '/'): Promise<AgentPage> {
    const form = await agent.follow(`${t.url}/__login__/corp?next=${encodeURIComponent(next)}`);
    expect(form.url.startsWith(idp.ssoUrl)).toBe(true);
    const autoPost = await agent.submit(form, { username });
    expect(WebAgent.formOf(autoPost).action).toBe(`${t.url}/__login__/corp/callback`);
    return autoPost;
  }

  it('publishes the SP metadata: entity id, ACS by HTTP-POST, signed assertions wanted', async () => {
    const res = await fetch(`${t.url}/__login__/corp/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const xml = await res.text();
    expect(xml).toContain(`entityID="${t.url}/__login__/corp/metadata"`);
    expect(xml).toMatch(/WantAssertionsSigned="true"/);
    expect(xml).toContain(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${t.url}/__login__/corp/callback"`);
    expect((await fetch(`${t.url}/__login__/nobody/metadata`)).status).toBe(404);
  });

  it('logs in: AuthnRequest by redirect, signed assertion posted to the ACS, attributes mapped', async () => {
    const agent = new WebAgent();
    const autoPost = await signInAtIdp(agent, 'sam', '/admin');
    const acs = await agent.submit(autoPost, {}, (u) => u.includes('handoff='));
    expect(acs.status).toBe(303);
    const done = await agent.request(acs.location!);
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${t.url}/admin`);
    const catalog = await agent.request(`${t.url}/`);
    expect(catalog.status).toBe(200);
    expect(catalog.text).toContain('sam');
    expect(await t.server.ctx.users.byUsername('sam')).toMatchObject({ email: 'sam@corp.example', firstName: 'Sam', lastName: 'Sparrow', role: 'publisher' });
    expect(idp.requests.at(-1)).toMatch(/^_[0-9a-f]{40}$/);
  });

  it('refuses a replayed response: posted again, in the same browser or another', async () => {
    const agent = new WebAgent();
    const autoPost = await signInAtIdp(agent, 'rita');
    expect((await agent.submit(autoPost)).url).toBe(`${t.url}/`);
    const again = await agent.submit(autoPost);
    expect(again.status).toBe(401);
    expect(again.text).toContain('answers no login this browser has in progress');
    // Another browser (a login CSRF: someone else's response pushed into the victim's browser).
    const victim = new WebAgent();
    await victim.request(`${t.url}/login`);
    const pushed = await victim.submit(autoPost);
    expect(pushed.status).toBe(401);
    expect((await loginFailures(t)).slice(0, 2).every((r) => r.includes('no login this browser has in progress'))).toBe(true);
  });

  const refusals: Array<[string, Parameters<typeof setMode>[0], RegExp]> = [
    ['an unsigned response', 'unsigned', /not signed/],
    ['a signed response whose assertion is not signed', 'response-only', /not signed/],
    ['an expired assertion', 'expired', /expired/],
    ['an answer to another request (InResponseTo)', 'other-request', /InResponseTo/],
    ['an assertion for another service provider (audience)', 'other-audience', /audience/],
  ];
  function setMode(mode: SamlIdp['mode']) {
    idp.mode = mode;
  }
  it.each(refusals)('refuses %s, with the reason on the page and in the audit log', async (_what, mode, reason) => {
    const agent = new WebAgent();
    const username = `u-${mode}`;
    const form = await agent.follow(`${t.url}/__login__/corp`);
    setMode(mode);
    const autoPost = await agent.submit(form, { username });
    const res = await agent.submit(autoPost);
    expect(res.status).toBe(401);
    expect(res.text).toMatch(reason);
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
    expect((await loginFailures(t))[0]).toMatch(reason);
    await expect(t.server.ctx.users.byUsername(username)).rejects.toThrow();
  });

  it('holds the ACS post for one GET only, whoever brings it back', async () => {
    const agent = new WebAgent();
    const autoPost = await signInAtIdp(agent, 'hugo');
    const acs = await agent.submit(autoPost, {}, (u) => u.includes('handoff='));
    expect((await agent.request(acs.location!)).status).toBe(303);
    const reuse = await agent.request(acs.location!);
    expect(reuse.status).toBe(401);
  });
});
