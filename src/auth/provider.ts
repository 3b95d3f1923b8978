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

/**
 * Sends the browser to an identity provider, then completes the login on its return.
 * @public (for the login providers still to come; nothing implements it yet)
 */
export interface RedirectLoginProvider extends ProviderBase {
  readonly kind: 'redirect';
  /** Where to send the browser; `state` comes back with it. */
  start(state: string, attempt: LoginAttempt): Promise<URL>;
  /** The identity provider's answer: the query or form fields it sent back. */
  complete(answer: Record<string, string>, state: string, attempt: LoginAttempt): Promise<LoginOutcome>;
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
