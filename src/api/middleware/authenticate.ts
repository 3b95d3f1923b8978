import type { NextFunction, Request, Response } from 'express';
import { keyFromHeaders, type ApiKeyService } from '../../services/api-key-service.ts';
import { confineProcessKey } from './key-scope.ts';

/**
 * An API key, when present, decides who the caller is, and a bad one fails the request even
 * if a session cookie would have worked: clients must learn their key is wrong.
 * Without a key, the browser session (set by passport) stands.
 * A content process's key is confined here, before any route runs, so no route can forget
 * it: reads of its own item and of users and groups only (`key-scope.ts`).
 */
export function authenticateApiKey(keys: ApiKeyService) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const key = keyFromHeaders(req.headers);
    if (key === undefined) {
      if (req.user) req.authVia = 'session';
      return next();
    }
    const { user, scope } = await keys.authenticate(key, { scoped: true });
    if (scope) confineProcessKey(req, scope);
    req.user = user;
    req.authVia = 'key';
    next();
  };
}
