import type { RequestHandler } from 'express';
import { SESSION_COOKIE_NAME } from '../domain/session.ts';

/**
 * A content script shares Lectern's host, so it can plant a second `lectern_session` cookie
 * scoped to a longer path (`/__api__`), which browsers send first, to make a viewer act as
 * someone else. A request that carries the session cookie more than once is treated as
 * logged out rather than trusting either copy.
 */
export const refuseDuplicateSessionCookies: RequestHandler = (req, _res, next) => {
  const cookie = req.headers.cookie;
  if (cookie) {
    const parts = cookie.split(';').map((c) => c.trim());
    const sessions = parts.filter((c) => c.startsWith(`${SESSION_COOKIE_NAME}=`));
    if (sessions.length > 1) {
      req.log?.warn({ count: sessions.length }, 'request carried several session cookies: treated as logged out');
      const rest = parts.filter((c) => c && !c.startsWith(`${SESSION_COOKIE_NAME}=`));
      if (rest.length) req.headers.cookie = rest.join('; ');
      else delete req.headers.cookie;
    }
  }
  next();
};
