import type { NextFunction, Request, Response } from 'express';
import { keyFromHeaders, type ApiKeyService } from '../../services/api-key-service.ts';

/**
 * An API key, when present, decides who the caller is, and a bad one fails the request even
 * if a session cookie would have worked: clients must learn their key is wrong.
 * Without a key, the browser session (set by passport) stands.
 */
export function authenticateApiKey(keys: ApiKeyService) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const key = keyFromHeaders(req.headers);
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
