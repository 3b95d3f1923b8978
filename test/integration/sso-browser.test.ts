import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../runtimes/local/ports.ts';
import { staticBundle } from '../helpers/bundles.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { startOidcIdp, type OidcIdp } from '../helpers/oidc-idp.ts';
import { startSamlIdp, type SamlIdp } from '../helpers/saml-idp.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { BASE_DN, SERVICE, startSlapd, type Slapd } from '../helpers/slapd.ts';
import { secretFile } from '../helpers/sso.ts';

/**
 * Every login in Debian's Chromium, all on one Lectern at once, each started from the login
 * page: Lectern's own password and LDAP through the one form, OIDC through the provider's own
 * login form, SAML through the IdP's auto-posting form (from another site: the IdP is
 * `localhost`, Lectern `127.0.0.1`, so the ACS post carries no Lax cookie). An identity
 * provider's group then opens an access-listed item.
 */
describe.each(DATABASES)('every login in a real browser, all on at once (%s)', (kind) => {
  let browser: Browser;
  let oidc: OidcIdp;
  let saml: SamlIdp;
  let slapd: Slapd;
  let t: TestServer;

  beforeAll(async () => {
    browser = await launchChromium();
    slapd = await startSlapd([{ uid: 'lena', password: 'lena-pw-1234', givenName: 'Lena', sn: 'Lind', mail: 'lena@example.org' }], []);
    const port = await freePort();
    oidc = await startOidcIdp({ lecternUrl: `http://127.0.0.1:${port}` });
    oidc.accounts.set('olivia', {
      sub: 'olivia-1',
      preferred_username: 'olivia',
      email: 'olivia@corp.example',
      given_name: 'Olivia',
      groups: 'Analysts Finance',
    });
    saml = await startSamlIdp({ spMetadataUrl: () => `http://127.0.0.1:${port}/__login__/corp/metadata`, hostname: 'localhost' });
    saml.accounts.set('sven', { nameID: 'sven', email: 'sven@corp.example', groups: ['Analysts'] });
    const secret = secretFile(mkdtempSync(path.join(os.tmpdir(), 'lectern-oidc-')), 'secret', oidc.clientSecret);
    t = await startTestServer(kind, {
      config: {
        server: { port, contentPort: 0 },
        auth: {
          oidc: [
            {
              name: 'idp',
              displayName: 'Company SSO',
              issuer: oidc.issuer,
              clientId: oidc.clientId,
              clientSecretFile: secret,
              scopes: ['openid', 'profile', 'email', 'groups'],
              allowInsecureHttp: true,
            },
          ],
          saml: [{ name: 'corp', displayName: 'Corp SAML', entryPoint: saml.ssoUrl, idpCertFile: [saml.certFile], idpIssuer: saml.entityId }],
          ldap: {
            url: slapd.url,
            bindDn: SERVICE.dn,
            bindPassword: SERVICE.password,
            userBase: `ou=people,${BASE_DN}`,
            userFilter: '(&(objectClass=inetOrgPerson)(uid={username}))',
            groups: { style: 'none' },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await oidc?.close();
    await saml?.close();
    await slapd?.stop();
  });
  const contexts: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  it("logs in through the OIDC provider's form, lands on the catalog, and logs out at the provider too", async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${t.url}/login`);
    await page.getByRole('link', { name: 'Log in with Company SSO' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${oidc.issuer}/interaction/`));
    await page.fill('input[name=login]', 'olivia');
    await page.fill('input[name=password]', 'any password');
    await page.click('button[type=submit]');
    await page.waitForURL(`${t.url}/`);
    expect(await page.locator('.who').textContent()).toContain('Signed in as olivia (viewer)');
    expect(await t.server.ctx.users.byUsername('olivia')).toMatchObject({ email: 'olivia@corp.example', firstName: 'Olivia' });

    // Logging out ends at the provider's end-session page (the CSP's form-action allows it), then back at the login page.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${oidc.issuer}/session/end`));
    await page.getByRole('button', { name: /yes/i }).click();
    await page.waitForURL(`${t.url}/login`);
    await page.goto(`${t.url}/`);
    await page.waitForURL(/\/login\?next=/);
  });

  it("logs in through the SAML IdP's auto-posted response, from another site, and lands on the page asked for", async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    // What the browser sends with the ACS post, and with the GET it is sent on to.
    const sent: Array<{ method: string; cookie: string | undefined }> = [];
    page.on('request', (req) => {
      if (req.url().startsWith(`${t.url}/__login__/corp/callback`)) void req.allHeaders().then((h) => sent.push({ method: req.method(), cookie: h.cookie }));
    });
    // Sent to log in from the page asked for, then the IdP's button on the login page.
    await page.goto(`${t.url}/account`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByRole('link', { name: 'Log in with Corp SAML' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${saml.ssoUrl}`));
    await page.fill('input[name=username]', 'sven');
    await page.click('button[type=submit]');
    await page.waitForURL(`${t.url}/account`);
    // The cross-site post came without the SameSite=Lax session cookie; the GET after it had it.
    await expect.poll(() => sent.length).toBe(2);
    expect(sent[0]).toEqual({ method: 'POST', cookie: undefined });
    expect(sent[1]!.method).toBe('GET');
    expect(sent[1]!.cookie).toContain('lectern_session=');
    expect(await page.locator('.who').textContent()).toContain('Signed in as sven');
    await page.goto(`${t.url}/`);
    await page.waitForURL(`${t.url}/`);
    expect(await t.server.ctx.users.byUsername('sven')).toMatchObject({ email: 'sven@corp.example' });
  });

  it("logs in with Lectern's own password and with LDAP through the one form", async () => {
    const pat = await t.createUser('pat', 'publisher', { password: 'pat-local-pw-1234' });
    for (const [username, password, who] of [
      ['pat', pat.password, 'Signed in as pat (publisher)'],
      ['lena', 'lena-pw-1234', 'Signed in as lena (viewer)'],
    ] as const) {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${t.url}/login`);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await page.waitForURL(`${t.url}/`);
      expect(await page.locator('.who').textContent()).toContain(who);
    }
    expect(await t.server.ctx.users.byUsername('lena')).toMatchObject({ email: 'lena@example.org', firstName: 'Lena' });
  });

  it("opens an access-listed item to the members of an identity provider's group, and to nobody else", async () => {
    const { content } = await deployBundle(t.url, t.admin.key, 'finance-report', await staticBundle('<h1>quarterly figures</h1>'), { access_type: 'acl' });
    const signIn = async (username: string) => {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${t.url}/login`);
      await page.getByRole('link', { name: 'Log in with Company SSO' }).click();
      await page.waitForURL((u) => u.href.startsWith(`${oidc.issuer}/interaction/`));
      await page.fill('input[name=login]', username);
      await page.fill('input[name=password]', 'any password');
      await page.click('button[type=submit]');
      await page.waitForURL(`${t.url}/`);
      return page;
    };
    oidc.accounts.set('otto', { sub: 'otto-1', preferred_username: 'otto', email: 'otto@corp.example', groups: 'Analysts' });
    // The group is made at its first member's login, from the provider's groups claim.
    const olivia = await signIn('olivia');
    const finance = await t.server.ctx.repos.groups.byName('Finance');
    expect(finance).toBeTruthy();
    const grant = await api(t.url, 'POST', `/__api__/v1/content/${content.guid}/permissions`, {
      key: t.admin.key,
      body: { principal_guid: finance!.guid, principal_type: 'group', role: 'viewer' },
    });
    expect(grant.status).toBe(201);
    await olivia.goto(`${t.contentUrl}/content/${content.guid}/`);
    await expect.poll(() => olivia.locator('h1').first().textContent()).toBe('quarterly figures');

    const otto = await signIn('otto');
    const refused = await otto.goto(`${t.contentUrl}/content/${content.guid}/`);
    expect(refused?.status()).not.toBe(200);
    expect(await otto.content()).not.toContain('quarterly figures');
  });
});
