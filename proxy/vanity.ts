import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { VanityService } from '../src/services/vanity-service.ts';

const BASE_PATH = Symbol('lectern vanity base path');
type WithBase = IncomingMessage & { [BASE_PATH]?: string };

/** The public path a request reached content by, when it came through a vanity path. */
export function vanityBasePath(req: IncomingMessage): string | undefined {
  return (req as WithBase)[BASE_PATH];
}

/**
 * A request under a vanity path becomes a request for its content: `/sales/q3` is
 * `/content/<guid>/q3`, and the app is told its base path is `/sales/`. `redirect`: the
 * vanity path without its trailing slash, which gets one.
 */
export async function rewriteVanity(req: IncomingMessage, vanities: VanityService): Promise<'rewritten' | 'redirect' | 'none'> {
  const url = req.url ?? '/';
  if (url === '/' || url.startsWith('/content/') || url.startsWith('/__') || vanityBasePath(req)) return 'none';
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  const v = await vanities.match(path);
  if (!v) return 'none';
  if (!path.endsWith('/') && `${path}/` === v.path) return 'redirect';
  (req as WithBase)[BASE_PATH] = v.path;
  // Express keeps an originalUrl set before it: a login redirect returns to the vanity path.
  (req as IncomingMessage & { originalUrl?: string }).originalUrl ??= url;
  req.url = `/content/${v.contentGuid}/${url.slice(v.path.length)}`;
  return 'rewritten';
}

/** rewriteVanity for Express routers. */
export function vanityRewrite(vanities: VanityService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const outcome = await rewriteVanity(req, vanities);
    if (outcome !== 'redirect') return next();
    const q = req.originalUrl.indexOf('?');
    res.redirect(301, `${req.path}/${q >= 0 ? req.originalUrl.slice(q) : ''}`);
  };
}
