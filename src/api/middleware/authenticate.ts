import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyService } from '../../services/api-key-service.ts';

/** The key a client presented, from `Authorization: Key <k>` or `X-RSC-Authorization: <k>`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth) {
    const m = /^Key\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const rsc = req.get('x-rsc-authorization')?.trim();
  return rsc || undefined;
}

/**
 * An API key, when present, decides who the caller is, and a bad one fails the request even
 * if a session cookie would have worked: clients must learn their key is wrong.
 * Without a key, the browser session (set by passport) stands.
 */
export function authenticateApiKey(keys: ApiKeyService) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    if (key === undefined) {
      if (req.user) req.authVia = 'session';
      return next();
    }
    const { user } = await keys.authenticate(key);
    req.user = user;
    req.authVia = 'key';
    next();
  };
}
