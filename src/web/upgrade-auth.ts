import http, { type IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../app-context.ts';
import type { User } from '../domain/user.ts';
import { keyFromHeaders } from '../services/api-key-service.ts';

/**
 * Express middleware does not run on WebSocket upgrades. This authenticates one as an HTTP
 * request would be: an API key if there is one (a bad key throws), else the browser session,
 * by running the same session and passport middleware against it.
 */
export async function authenticateUpgrade(req: IncomingMessage, ctx: AppContext, sessionMiddleware: RequestHandler[]): Promise<{ user: User | undefined; viaCookie: boolean }> {
  const key = keyFromHeaders(req.headers);
  if (key) return { user: (await ctx.keys.authenticate(key)).user, viaCookie: false };
  if (!req.headers.cookie) return { user: undefined, viaCookie: false };
  const r = req as unknown as Request;
  r.originalUrl ??= req.url ?? '/';
  const res = new http.ServerResponse(req) as unknown as Response;
  for (const mw of sessionMiddleware) {
    const failed = await new Promise<unknown>((resolve) => mw(r, res, resolve as (err?: unknown) => void));
    if (failed) return { user: undefined, viaCookie: true };
  }
  return { user: r.user, viaCookie: true };
}
