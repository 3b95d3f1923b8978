import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

interface OidcAccount {
  sub: string;
  preferred_username: string;
  email: string;
  given_name?: string;
  family_name?: string;
  groups?: string[] | string;
  lectern_role?: string;
}

export interface OidcIdp {
  /** The issuer (http://127.0.0.1:<port>). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by login name (the dev login form accepts any password). */
  accounts: Map<string, OidcAccount>;
  /** Grant types the token endpoint served, in order (`authorization_code`, `refresh_token`). */
  grants: string[];
  /** Refresh tokens the provider refused. */
  refreshErrors: string[];
  /**
   * A party in the middle (set by a test): the authorization request is sent as this client's
   * and the code redeemed with its credentials, so the ID token is made out to it, signed by
   * the provider, valid in every other way.
   */
  swapClient: { client_id: string; client_secret: string } | undefined;
  /** A discovery document naming another issuer (its own address) for the same provider. */
  startMirror(): Promise<{ issuer: string; close(): Promise<void> }>;
  close(): Promise<void>;
}

export interface OidcIdpOptions {
  /** Where Lectern listens: its callback and post-logout addresses are registered for it. */
  lecternUrl: string;
  /** Seconds an ID token lives (the refresh test makes it short). Default one hour. */
  idTokenTtl?: number;
  /** Put the profile claims in the ID token itself (else only userinfo has them). */
  claimsInIdToken?: boolean;
  /** More clients (the wrong-audience test's other party). */
  extraClients?: Array<{ client_id: string; client_secret: string }>;
}

/**
 * A real OpenID Provider (the `oidc-provider` package) on a loopback port: one confidential
 * client for Lectern (code flow, PKCE required, refresh tokens), its dev login form (any
 * password), consent granted without asking, accounts with groups.
 */
export async function startOidcIdp(opts: OidcIdpOptions): Promise<OidcIdp> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'lectern';
  const clientSecret = 'lectern-client-secret-0123456789abcdef';
  const accounts = new Map<string, OidcAccount>();
  const grants: string[] = [];
  const refreshErrors: string[] = [];
  const client = (client_id: string, client_secret: string) => ({
    client_id,
    client_secret,
    redirect_uris: [`${opts.lecternUrl}/__login__/idp/callback`, `${opts.lecternUrl}/__login__/other/callback`],
    post_logout_redirect_uris: [`${opts.lecternUrl}/login`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  });
  const provider = new Provider(issuer, {
    clients: [client(clientId, clientSecret), ...(opts.extraClients ?? []).map((c) => client(c.client_id, c.client_secret))],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'given_name', 'family_name', 'lectern_role'],
      email: ['email'],
      groups: ['groups'],
    },
    conformIdTokenClaims: !opts.claimsInIdToken,
    ttl: { IdToken: opts.idTokenTtl ?? 3600, AccessToken: opts.idTokenTtl ?? 3600 },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    // The dev login form's name is the account; unknown names are strangers with no groups.
    async findAccount(_ctx: unknown, sub: string) {
      const account = accounts.get(sub) ?? { sub, preferred_username: sub, email: `${sub}@idp.example` };
      return { accountId: sub, claims: async () => ({ ...account, sub }) };
    },
    async issueRefreshToken(_ctx: unknown, c: { grantTypeAllowed(t: string): boolean }) {
      return c.grantTypeAllowed('refresh_token');
    },
    // Consent is granted at once (a company's own IdP for its own app asks nobody).
    async loadExistingGrant(ctx: any) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!ctx.oidc.session.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile email groups offline_access');
      await grant.save();
      return grant;
    },
  });
  provider.on('grant.success', (ctx: { oidc: { params: { grant_type: string } } }) => grants.push(ctx.oidc.params.grant_type));
  provider.on('grant.error', (ctx: { oidc?: { params?: { grant_type?: string } } }, err: Error) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') refreshErrors.push(err.message);
  });
  const handle = provider.callback();
  const idp: OidcIdp = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    grants,
    refreshErrors,
    swapClient: undefined,
    async startMirror() {
      const mirror = http.createServer((req, res) => {
        if (req.url !== '/.well-known/openid-configuration') return void res.writeHead(404).end();
        fetch(`${issuer}/.well-known/openid-configuration`)
          .then((r) => r.json())
          .then((meta: Record<string, unknown>) =>
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...meta, issuer: mirrorIssuer })),
          )
          .catch(() => res.writeHead(502).end());
      });
      await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
      const mirrorIssuer = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
      return { issuer: mirrorIssuer, close: () => closeServer(mirror) };
    },
    close: () => closeServer(server),
  };
  server.on('request', (req, res) => {
    const swap = idp.swapClient;
    if (swap && req.url?.startsWith('/auth?')) {
      const u = new URL(req.url, issuer);
      u.searchParams.set('client_id', swap.client_id);
      req.url = `${u.pathname}${u.search}`;
    }
    if (swap && req.url === '/token') req.headers.authorization = `Basic ${Buffer.from(`${swap.client_id}:${swap.client_secret}`).toString('base64')}`;
    handle(req, res);
  });
  return idp;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
