import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import samlify from 'samlify';

// samlify wants an XML schema validator; this IdP only makes responses, so it checks nothing
// of its own. Lectern's side (node-saml) does every check that counts.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

interface SamlAccount {
  nameID: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  groups?: string[];
  role?: string;
}

/**
 * How the next responses are made: `signed` (the assertion signed, as Lectern asks), or one
 * of the bad kinds the refusal tests need: `unsigned` (no signature at all),
 * `response-only` (the response signed, its assertion not), `expired` (signed, its time
 * over), `other-request` (signed, InResponseTo naming another request), `other-audience`
 * (signed, made out to another service provider).
 */
type SamlMode = 'signed' | 'unsigned' | 'response-only' | 'expired' | 'other-request' | 'other-audience';

export interface SamlIdp {
  url: string;
  entityId: string;
  /** The IdP's signing certificate (PEM file) Lectern is configured with. */
  certFile: string;
  /** The single sign-on address (HTTP-Redirect). */
  ssoUrl: string;
  accounts: Map<string, SamlAccount>;
  mode: SamlMode;
  /** The AuthnRequests it received (their ids), in order. */
  requests: string[];
  close(): Promise<void>;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attributeStatement(a: SamlAccount): string {
  const attr = (name: string, values: readonly string[] | undefined) =>
    values && values.length
      ? `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values
          .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`)
          .join('')}</saml:Attribute>`
      : '';
  const one = (v: string | undefined) => (v === undefined ? undefined : [v]);
  return `<saml:AttributeStatement>${attr('email', one(a.email))}${attr('firstName', one(a.firstName))}${attr('lastName', one(a.lastName))}${attr('groups', a.groups)}${attr('role', one(a.role))}</saml:AttributeStatement>`;
}

/**
 * A real SAML 2.0 identity provider built with samlify, on a loopback port: `GET /sso` takes
 * the AuthnRequest (HTTP-Redirect binding) and shows a login form (any name); its post
 * answers with a page whose form posts the SAMLResponse to the service provider's ACS on
 * load (HTTP-POST binding), signed with a key made for this IdP by openssl.
 */
export async function startSamlIdp(opts: { spMetadataUrl: () => string; hostname?: string }): Promise<SamlIdp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-saml-idp-'));
  const keyFile = path.join(dir, 'idp.key');
  const certFile = path.join(dir, 'idp.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=test-idp'], {
    stdio: 'ignore',
  });
  const privateKey = readFileSync(keyFile, 'utf8');
  const signingCert = readFileSync(certFile, 'utf8');

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // `localhost` makes the IdP another site than Lectern on 127.0.0.1 (the ACS post is then
  // cross-site, as in production, and SameSite=Lax cookies stay behind).
  const url = `http://${opts.hostname ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const entityId = `${url}/metadata`;
  const idp = samlify.IdentityProvider({
    entityID: entityId,
    privateKey,
    signingCert,
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'],
    singleSignOnService: [{ Binding: REDIRECT, Location: `${url}/sso` }],
    isAssertionEncrypted: false,
  });

  const state: SamlIdp = {
    url,
    entityId,
    certFile,
    ssoUrl: `${url}/sso`,
    accounts: new Map(),
    mode: 'signed',
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };

  const spFromMetadata = async () => samlify.ServiceProvider({ metadata: await (await fetch(opts.spMetadataUrl())).text() });

  /** The SAMLResponse (base64) for a request, made as `state.mode` says. */
  async function responseFor(requestId: string, account: SamlAccount): Promise<{ acs: string; samlResponse: string }> {
    const sp = await spFromMetadata();
    const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
    const now = Date.now();
    const expired = state.mode === 'expired';
    const values = {
      ID: `_${randomBytes(16).toString('hex')}`,
      AssertionID: `_${randomBytes(16).toString('hex')}`,
      Destination: acs,
      Audience: state.mode === 'other-audience' ? 'https://another-sp.example/metadata' : sp.entityMeta.getEntityID(),
      SubjectRecipient: acs,
      Issuer: entityId,
      IssueInstant: new Date(expired ? now - 3_600_000 : now).toISOString(),
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: new Date(expired ? now - 3_600_000 : now - 5_000).toISOString(),
      ConditionsNotOnOrAfter: new Date(expired ? now - 1_800_000 : now + 300_000).toISOString(),
      SubjectConfirmationDataNotOnOrAfter: new Date(expired ? now - 1_800_000 : now + 300_000).toISOString(),
      NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      NameID: account.nameID,
      InResponseTo: state.mode === 'other-request' ? `_${randomBytes(20).toString('hex')}` : requestId,
    };
    const render = (template: string) =>
      samlify.SamlLib.replaceTagsByValue(
        template
          .replace('{AttributeStatement}', attributeStatement(account))
          .replace(
            '{AuthnStatement}',
            `<saml:AuthnStatement AuthnInstant="${values.IssueInstant}" SessionIndex="${values.AssertionID}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
          ),
        values,
      );
    if (state.mode === 'unsigned') {
      return { acs, samlResponse: Buffer.from(render(samlify.SamlLib.defaultLoginResponseTemplate.context)).toString('base64') };
    }
    // samlify signs the assertion when the SP's metadata wants it (Lectern's does), and the
    // whole response instead when it does not: the response-only mode's SP says it does not.
    const target =
      state.mode === 'response-only'
        ? samlify.ServiceProvider({
            entityID: sp.entityMeta.getEntityID(),
            wantAssertionsSigned: false,
            assertionConsumerService: [{ Binding: POST, Location: acs }],
          })
        : sp;
    const made = await idp.createLoginResponse(
      target,
      { extract: { request: { id: requestId } } },
      'post',
      { email: account.email },
      {
        customTagReplacement: (template) => ({ id: values.ID, context: render(template) }),
      },
    );
    return { acs, samlResponse: made.context };
  }

  server.on('request', (req, res) => {
    const u = new URL(req.url ?? '/', url);
    const html = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><body>${body}</body></html>`);
    (async () => {
      if (req.method === 'GET' && u.pathname === '/sso') {
        const sp = await spFromMetadata();
        const parsed = await idp.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(u.searchParams) });
        const requestId = String((parsed.extract.request as Record<string, string> | undefined)?.id ?? '');
        state.requests.push(requestId);
        return html(
          200,
          `<h1>Test IdP</h1><form method="post" action="/sso/login"><input type="hidden" name="requestId" value="${escapeXml(requestId)}"><input type="hidden" name="RelayState" value="${escapeXml(
            u.searchParams.get('RelayState') ?? '',
          )}"><label>Username <input name="username" required></label><button type="submit">Sign in</button></form>`,
        );
      }
      if (req.method === 'POST' && u.pathname === '/sso/login') {
        let body = '';
        for await (const chunk of req) body += String(chunk);
        const form = new URLSearchParams(body);
        const username = form.get('username') ?? '';
        const account = state.accounts.get(username) ?? { nameID: username, email: `${username}@idp.example` };
        const { acs, samlResponse } = await responseFor(form.get('requestId') ?? '', account);
        return html(
          200,
          `<form method="post" action="${escapeXml(acs)}"><input type="hidden" name="SAMLResponse" value="${samlResponse}"><input type="hidden" name="RelayState" value="${escapeXml(
            form.get('RelayState') ?? '',
          )}"><noscript><button type="submit">Continue</button></noscript></form><script>document.forms[0].submit()</script>`,
        );
      }
      res.writeHead(404).end();
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(err instanceof Error ? (err.stack ?? err.message) : String(err));
    });
  });
  return state;
}
