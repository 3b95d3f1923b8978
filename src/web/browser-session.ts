import type { RequestHandler } from 'express';
import session from 'express-session';
import type { AppContext } from '../app-context.ts';
import { SESSION_COOKIE_NAME } from '../domain/session.ts';
import { createPassport, type LecternPassport } from '../auth/passport.ts';
import type { HeaderLoginProvider, LoginProvider } from '../auth/provider.ts';
import { createLoginProviders } from '../auth/registry.ts';
import { refuseDuplicateSessionCookies } from '../http/duplicate-session-cookie.ts';
import { SessionReader } from '../http/session-reader.ts';
import { DatabaseSessionStore } from '../http/session-store.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { keyFromHeaders } from '../services/api-key-service.ts';
import { LoginHandoffs, renewRemoteSessions } from './sso-session.ts';

export interface BrowserSession {
  /** express-session, then passport: req.user from the session cookie. */
  middleware: RequestHandler[];
  /** The same, skipped when the request carries an API key: the key decides who it is. */
  unlessKey: RequestHandler;
  passport: LecternPassport;
  /** The login providers (src/auth/registry.ts), each a passport strategy of its name. */
  logins: LoginProvider[];
  store: DatabaseSessionStore;
  /** Reads the session without express-session: for the proxy, on every request. */
  reader: SessionReader;
  /** SAML's cross-site POSTs, held for the GET that follows them. */
  handoffs: LoginHandoffs;
}

/**
 * A header provider (a trusted proxy names the user) logs a request in when its session has
 * no user, or another user than the proxy names (that session ends first). Requests the
 * provider does not believe go on as they are. A refusal (locked, a local account of that
 * name) is the error page.
 */
function headerLogin(provider: HeaderLoginProvider): RequestHandler {
  return (req, _res, next) => {
    const attempt = { ip: req.ip ?? 'unknown', peer: req.socket.remoteAddress };
    const claimed = provider.claimed(req.headers, attempt);
    if (claimed === undefined || (req.user && req.user.username.toLowerCase() === claimed.toLowerCase())) return next();
    const login = () =>
      provider
        .login(req.headers, attempt)
        .then((outcome) => {
          if (!outcome) return next();
          if (!outcome.ok)
            return next(
              new AppError(outcome.failure.status === 429 ? 429 : 403, ErrorCode.forbidden, outcome.failure.message, null, outcome.failure.retryAfter),
            );
          req.logIn(outcome.user, (err) => next(err));
        })
        .catch(next);
    if (req.user) req.logOut((err) => (err ? next(err) : login()));
    else login();
  };
}

/**
 * The browser session, shared by Lectern's origin and the content origin: the same store and
 * cookie (cookies ignore ports), so logging in once opens content too.
 */
export function createBrowserSession(ctx: AppContext, secure: boolean): BrowserSession {
  const maxAge = ctx.config.auth.sessionHours * 3600_000;
  const store = new DatabaseSessionStore(ctx.repos.sessions, maxAge);
  const logins = createLoginProviders({
    users: ctx.users,
    throttle: ctx.throttle,
    audit: ctx.audit,
    accounts: ctx.accounts,
    config: ctx.config.auth,
    logger: ctx.logger.child({ component: 'login' }),
  });
  const passport = createPassport(logins, ctx.users);
  // The server's secret key signs the cookie; it never leaves the data directory.
  const secret = ctx.secretKey.toString('base64');
  const sessionMw = session({
    name: SESSION_COOKIE_NAME,
    store,
    secret,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure, maxAge, path: '/' },
  });
  const middleware: RequestHandler[] = [
    refuseDuplicateSessionCookies,
    sessionMw,
    passport.initialize(),
    passport.session(),
    renewRemoteSessions(logins),
    ...logins.filter((p) => p.kind === 'header').map(headerLogin),
  ];
  const unlessKey: RequestHandler = (req, res, next) => {
    if (keyFromHeaders(req.headers)) return next();
    let i = 0;
    const step = (err?: unknown) => (err ? next(err) : i < middleware.length ? middleware[i++]!(req, res, step) : next());
    step();
  };
  const reader = new SessionReader(secret, ctx.repos.sessions, (id) => ctx.users.byId(id), ctx.writeGeneration);
  return { middleware, unlessKey, passport, logins, store, reader, handoffs: new LoginHandoffs(ctx.repos.sessions) };
}
