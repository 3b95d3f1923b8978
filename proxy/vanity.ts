import type { NextFunction, Request, Response } from 'express';
import type { VanityService } from '../src/services/vanity-service.ts';

/** The public path a request reached content by, when it came through a vanity path. */
export function vanityBasePath(req: Request): string | undefined {
  return (req as Request & { lecternBasePath?: string }).lecternBasePath;
}

/**
 * Requests under a vanity path become requests for their content: `/sales/q3` is
 * `/content/<guid>/q3`, and the app is told its base path is `/sales/`.
 */
export function vanityRewrite(vanities: VanityService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/' || req.path.startsWith('/content/') || req.path.startsWith('/__')) return next();
    const v = await vanities.match(req.path);
    if (!v) return next();
    if (!req.path.endsWith('/') && `${req.path}/` === v.path) {
      const q = req.originalUrl.indexOf('?');
      return res.redirect(301, `${v.path}${q >= 0 ? req.originalUrl.slice(q) : ''}`);
    }
    (req as Request & { lecternBasePath?: string }).lecternBasePath = v.path;
    req.url = `/content/${v.contentGuid}/${req.url.slice(v.path.length)}`;
    next();
  };
}
