import type { User } from '../domain/user.ts';

/**
 * How a login provider talks to the person logging in:
 * - `password`: a username and password typed into Lectern's login form (the built-in
 *   accounts, LDAP);
 * - `redirect`: the browser goes to an identity provider and comes back (OIDC, SAML);
 * - `header`: a trusted proxy in front of Lectern has authenticated the request and names
 *   the user in a header (proxied authentication).
 * @public (for the login providers still to come; nothing implements it yet)
 */
export type LoginKind = 'password' | 'redirect' | 'header';

/** Where a login attempt comes from, for throttling and the audit log. */
export interface LoginAttempt {
  /** The client's address (`req.ip`: through `server.trustProxy`'s hops). */
  ip: string;
  /**
   * The address of the connection's other end (the socket's), whatever any header says: the
   * only address a provider that trusts a front proxy by its address may believe.
   */
  peer?: string | undefined;
}

/**
 * Why a login failed, as the login page shows it: 401 (wrong, locked, refused), 429
 * (throttled) or 503 (the identity provider could not be reached).
 */
export interface LoginFailure {
  status: 401 | 429 | 503;
  message: string;
  /** Seconds until the next try is taken (429 only): the page sends `Retry-After`. */
  retryAfter?: number;
}

/**
 * A login ends with a Lectern user, or a failure the page shows. A provider whose accounts
 * live elsewhere (LDAP, OIDC, SAML, a proxy's header) maps the identity it learnt to a Lectern
 * user itself (found by its username or created on first login, with the role its mapping
 * gives): the session holds only Lectern's user id, and a locked Lectern user never logs in.
 */
export type LoginOutcome = { ok: true; user: User } | { ok: false; failure: LoginFailure };

interface ProviderBase {
  /** Unique among the configured providers; the passport strategy's name. */
  readonly name: string;
  /** What the login page calls it ("Log in with <displayName>"); the name when absent. */
  readonly displayName?: string | undefined;
}

/** Checks a username and password from Lectern's login form. */
export interface PasswordLoginProvider extends ProviderBase {
  readonly kind: 'password';
  login(username: string, password: string, attempt: LoginAttempt): Promise<LoginOutcome>;
}

/** Where a redirect login runs: Lectern's addresses for this provider, and who is logging in. */
export interface RedirectContext {
  /** `<Lectern's origin>/__login__/<name>/callback`: where the identity provider answers. */
  callbackUrl: string;
  /** `<Lectern's origin>/__login__/<name>/metadata` (a SAML SP's entity id by default). */
  metadataUrl: string;
  attempt: LoginAttempt;
}

/**
 * What a login started and must find again on the way back (OIDC: state, nonce, PKCE
 * verifier; SAML: RelayState and the AuthnRequest's id). Kept server-side, in the browser's
 * session (never in a cookie of its own), under `key`, and used once.
 * @public (part of RedirectLoginProvider's contract)
 */
export interface RedirectTransaction {
  /** What the identity provider sends back for the login to be found (OIDC `state`, SAML `RelayState`). */
  key: string;
  /** The provider's own fields (JSON). */
  data: Record<string, string>;
}

/**
 * What a remote login leaves in the session (server-side, never in the cookie) for later:
 * the OIDC ID token for RP-initiated logout, the refresh token and when to use it.
 */
export interface RemoteSession {
  provider: string;
  idToken?: string | undefined;
  refreshToken?: string | undefined;
  /** When the identity provider's token runs out (epoch ms): a refresh is due then. */
  expiresAt?: number | undefined;
  /** The IdP's subject, for a refresh to prove it is still the same person. */
  subject?: string | undefined;
}

/** A redirect login's end: the outcome, and on success what the session keeps. */
export interface RedirectCompletion {
  outcome: LoginOutcome;
  session?: RemoteSession | undefined;
}

/** Sends the browser to an identity provider, then completes the login on its return. */
export interface RedirectLoginProvider extends ProviderBase {
  readonly kind: 'redirect';
  /** Where to send the browser, and what to keep until it returns. */
  start(ctx: RedirectContext): Promise<{ url: URL; transaction: RedirectTransaction }>;
  /** The key (`RedirectTransaction.key`) the identity provider's answer carries. */
  keyOf(answer: Record<string, string>): string | undefined;
  /**
   * The identity provider's answer (the query or form fields it sent back), checked against
   * the transaction `start` made (undefined: none is known, so a replay or a forgery).
   * Every refusal is audited through `RemoteLogins.refuse`.
   */
  complete(answer: Record<string, string>, transaction: RedirectTransaction | undefined, ctx: RedirectContext): Promise<RedirectCompletion>;
  /** The service provider's metadata document (SAML), if the provider publishes one. */
  metadata?(ctx: RedirectContext): Promise<string>;
  /** Where to send the browser to end the session at the identity provider too, if it can. */
  logoutUrl?(session: RemoteSession, postLogoutUrl: string): Promise<URL | undefined>;
  /**
   * Renews a session whose token ran out (OIDC refresh token). `undefined`: it could not be
   * renewed (refused, revoked, another person), so the Lectern session ends.
   */
  refresh?(session: RemoteSession, attempt: LoginAttempt): Promise<RemoteSession | undefined>;
  /** Origins the browser may be sent to after a form (logout): the pages' CSP form-action. */
  formOrigins?(): string[];
}

/** Reads the user a trusted proxy authenticated from the request's headers (proxy-provider.ts). */
export interface HeaderLoginProvider extends ProviderBase {
  readonly kind: 'header';
  /**
   * The username a believed request names, without logging in (cheap: no database). A
   * session whose user differs is ended, so the browser follows whom the proxy says.
   */
  claimed(headers: Readonly<Record<string, string | string[] | undefined>>, attempt: LoginAttempt): string | undefined;
  /** `undefined`: the request carries no such header, so this provider has nothing to say. */
  login(headers: Readonly<Record<string, string | string[] | undefined>>, attempt: LoginAttempt): Promise<LoginOutcome | undefined>;
}

export type LoginProvider = PasswordLoginProvider | RedirectLoginProvider | HeaderLoginProvider;
