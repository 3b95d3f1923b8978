import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { LoginProvider, RedirectLoginProvider, RemoteSession } from '../auth/provider.ts';
import type { SessionRepo } from '../repositories/session-repo.ts';

/** A redirect login in progress, kept in the browser's session (server-side) until its answer. */
export interface PendingLogin {
  provider: string;
  key: string;
  data: Record<string, string>;
  /** Where to go once logged in (already made safe). */
  next: string;
  createdAt: number;
}

declare module 'express-session' {
  interface SessionData {
    /** Redirect logins in progress, by `<provider>:<key>`; each used once. */
    logins?: Record<string, PendingLogin>;
    /** What the remote login left for logout and refresh (tokens never reach the cookie). */
    remote?: RemoteSession;
  }
}

/** How long a started login waits for the identity provider's answer. */
export const PENDING_LOGIN_MS = 10 * 60_000;
/** Logins in progress one browser may have at once (tabs); the oldest go first. */
const MAX_PENDING = 5;

export const pendingKey = (provider: string, key: string) => `${provider}:${key}`;

/** Keeps a started login in the session, dropping expired ones and the oldest beyond the limit. */
export function keepPending(logins: Record<string, PendingLogin> | undefined, pending: PendingLogin, now = Date.now()): Record<string, PendingLogin> {
  const kept = Object.entries(logins ?? {})
    .filter(([, p]) => now - p.createdAt < PENDING_LOGIN_MS)
    .sort(([, a], [, b]) => a.createdAt - b.createdAt)
    .slice(-(MAX_PENDING - 1));
  return { ...Object.fromEntries(kept), [pendingKey(pending.provider, pending.key)]: pending };
}

const HANDOFF_PREFIX = 'sso-handoff:';
const HANDOFF_MS = 2 * 60_000;

/**
 * The fields an identity provider POSTed cross-site (SAML's ACS), held server-side for the
 * moment it takes the browser to come back by GET. That POST carries no Lax session cookie;
 * the GET that follows it (a top-level navigation) does, so the answer is checked there,
 * against the transaction in that browser's session. Kept in the sessions table (every node
 * sees it) under an id no cookie can name (cookies are signed; this prefix is no session id),
 * for two minutes, taken once.
 */
export class LoginHandoffs {
  constructor(private readonly repo: SessionRepo) {}

  async put(provider: string, fields: Record<string, string>): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.repo.set(HANDOFF_PREFIX + token, null, JSON.stringify({ provider, fields }), new Date(Date.now() + HANDOFF_MS));
    return token;
  }

  /** The fields, once: a second take (a replay) finds nothing. */
  async take(provider: string, token: string): Promise<Record<string, string> | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const row = await this.repo.get(HANDOFF_PREFIX + token);
    if (!row || (await this.repo.destroy(HANDOFF_PREFIX + token)) !== 1) return undefined;
    if (row.expiresAt.getTime() <= Date.now()) return undefined;
    const stored = JSON.parse(row.data) as { provider: string; fields: Record<string, string> };
    return stored.provider === provider ? stored.fields : undefined;
  }
}

/**
 * Renews a remote login's session once its ID token has run out (OIDC refresh token, kept in
 * the session store, never the cookie). A refresh that fails (revoked, refused, another
 * person) ends the Lectern session: the request goes on logged out. One refresh at a time
 * per session in this process; a session without a refresh token lasts `auth.sessionHours`.
 */
export function renewRemoteSessions(logins: readonly LoginProvider[]): RequestHandler {
  const providers = new Map(logins.filter((p): p is RedirectLoginProvider => p.kind === 'redirect' && !!p.refresh).map((p) => [p.name, p]));
  const inFlight = new Map<string, Promise<RemoteSession | undefined>>();
  return (req, _res, next) => {
    const remote = req.session?.remote;
    if (!req.user || !remote?.refreshToken || remote.expiresAt === undefined || remote.expiresAt > Date.now()) return next();
    const provider = providers.get(remote.provider);
    if (!provider) return next();
    const sid = req.sessionID;
    let job = inFlight.get(sid);
    if (!job) {
      job = provider.refresh!(remote, { ip: req.ip ?? 'unknown' }).finally(() => inFlight.delete(sid));
      inFlight.set(sid, job);
    }
    job.then(
      (renewed) => {
        if (renewed) {
          req.session.remote = renewed;
          return next();
        }
        // passport regenerates the session: the tokens go with it.
        req.logout((err) => next(err));
      },
      (err: unknown) => next(err),
    );
  };
}
