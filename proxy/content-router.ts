import path from 'node:path';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../src/domain/errors.ts';
import { keyFromHeaders, type ApiKeyService } from '../src/services/api-key-service.ts';
import type { ContentFiles, ServableBundle } from '../src/services/content-files.ts';
import type { Origins } from '../src/web/origins.ts';
import { ContentUnavailable, type ContentRunner } from '../runtimes/content-runner.ts';
import { createForwarder, prepareForContent, setSticky, stickyCookie, stickyFrom, type Viewer } from './forward.ts';
import { AtCapacity, scalingOf, type InstancePool } from './instance-pool.ts';
import { vanityBasePath } from './vanity.ts';
import type { User } from '../src/domain/user.ts';

const DRAFT = /^_bundle(\d+)$/;

/** Browsers are sent to log in (on Lectern's origin) and back; API callers get a 401 in Connect's shape. */
function loginOrUnauthorized(req: Request, res: Response, origin: Origins) {
  if (req.accepts(['html', 'json']) === 'html' && !keyFromHeaders(req.headers)) {
    const back = origin.content(req) + req.originalUrl.replace(/^\/+/, '/');
    return res.redirect(302, `${origin.main(req)}/login?next=${encodeURIComponent(back)}`);
  }
  throw AppError.unauthorized('Log in or send an API key to see this content.');
}

function serveStatic(target: ServableBundle, rel: string, res: Response, next: NextFunction) {
  // A directory gets its index: the bundle's primary document at the top, index.html below.
  let file = rel;
  if (file === '' || file.endsWith('/')) file += file === '' ? (target.bundle.primaryFile ?? 'index.html') : 'index.html';
  // sendFile with `root` refuses paths that climb out of it.
  res.sendFile(file, { root: target.dir, dotfiles: 'ignore', maxAge: 0 }, (err?: NodeJS.ErrnoException & { status?: number }) => {
    if (!err) return;
    if (res.headersSent) return res.destroy();
    next(err.status === 404 || err.code === 'ENOENT' || err.code === 'EISDIR' ? AppError.notFound('There is nothing at this address.') : err);
  });
}

/**
 * Requests for content: `/content/{guid}/...` and the draft preview `/content/{guid}/_bundle{id}/...`.
 * Static content is served from its bundle; served app modes join when the runtimes exist.
 */
export function contentRouter(files: ContentFiles, keys: ApiKeyService, runner: ContentRunner, pool: InstancePool, origin: Origins, viewerOf: (user: User) => Promise<Viewer>): Router {
  const forward = createForwarder();
  // Strict: `/content/{guid}` and `/content/{guid}/` are different addresses (one redirects).
  const r = Router({ strict: true });

  r.get('/content/:guid', (req, res) => {
    const q = req.originalUrl.indexOf('?');
    res.redirect(301, `/content/${encodeURIComponent(String(req.params.guid))}/${q >= 0 ? req.originalUrl.slice(q) : ''}`);
  });

  r.all('/content/:guid/{*rest}', async (req, res, next) => {
    // An API key identifies the caller here too (rsconnect-python checks the deploy with one).
    const key = keyFromHeaders(req.headers);
    const user = key ? (await keys.authenticate(key)).user : req.user;

    const segments = (req.params as { rest?: string[] }).rest ?? [];
    const draft = segments[0] !== undefined ? DRAFT.exec(segments[0]) : null;
    if (draft && segments.length === 1 && !req.path.endsWith('/')) {
      return res.redirect(301, `${req.baseUrl}${req.path}/`);
    }
    const rest = draft ? segments.slice(1) : segments;
    const result = await files.resolve(user, String(req.params.guid), draft ? Number(draft[1]) : null);
    if (!result.ok) {
      if (result.reason === 'login') return loginOrUnauthorized(req, res, origin);
      throw AppError.notFound('The requested content does not exist.');
    }
    const { content, bundle } = result.target;
    let recipe;
    try {
      recipe = runner.recipe(bundle.appMode);
    } catch (err) {
      throw new AppError(503, 1, (err as Error).message);
    }
    const prefix = `/content/${content.guid}/${draft ? `_bundle${bundle.id}/` : ''}`;
    // Through a vanity path the app's public base path is that path.
    const publicBase = vanityBasePath(req) ?? prefix;
    if (recipe.kind === 'served') {
      let lease;
      try {
        lease = await pool.acquire({
          contentGuid: content.guid,
          bundleId: bundle.id,
          appMode: bundle.appMode,
          primaryFile: bundle.primaryFile,
          bundleDir: result.target.dir,
          manifest: await files.manifest(bundle),
          settings: { initTimeoutSeconds: content.init_timeout, pythonEnvironmentManagement: content.default_py_environment_management, rEnvironmentManagement: content.default_r_environment_management },
        }, scalingOf(content), stickyFrom(req.headers.cookie, content.guid));
      } catch (err) {
        if (err instanceof AtCapacity) {
          res.set('Retry-After', '5');
          throw new AppError(503, 1, 'This content is busy: every one of its processes has as many visitors as it may take. Try again in a moment.');
        }
        if (err instanceof ContentUnavailable) res.set('Retry-After', String(err.retryAfterSeconds));
        // The app's output can hold paths and secrets: only the people who run it see it.
        const manager = !!user && (user.role === 'administrator' || user.id === content.ownerId);
        throw new AppError(503, 1, manager ? `The app could not start: ${(err as Error).message}` : 'This content is not available right now. Try again later.');
      }
      // Apps that know their base path get it in the URL; the others from X-Lectern-Base-Path.
      const original = req.url.replace(/^\/+/, '/');
      const tail = original.slice(prefix.length - 1) || '/';
      // Apps serving under their base path were started with `/content/<guid>/`, drafts too.
      const full = `/content/${content.guid}${tail}`;
      const { served } = lease;
      res.once('close', lease.release);
      prepareForContent(req, served.recipe.pathMode === 'full' ? full : tail, publicBase, user ? await viewerOf(user) : undefined);
      // The session stays on its process: the cookie names it (Shiny's WebSocket follows it).
      setSticky(req, `${stickyCookie(content.guid)}=${served.instance.key}; Path=${publicBase}; HttpOnly; SameSite=Lax`);
      return forward.web(req, res, served.instance.target);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new AppError(405, 2, 'This content accepts GET and HEAD only.');
    let target = result.target;
    if (recipe.kind === 'rendered') {
      const dir = await runner.renderDir(content.guid, bundle.id);
      if (!dir) throw AppError.notFound('This report has not been rendered yet.');
      target = { ...target, dir, bundle: { ...bundle, primaryFile: 'index.html' } };
    }
    const trailing = req.path.endsWith('/') && rest.length > 0 ? '/' : '';
    serveStatic(target, path.posix.join(...rest.map(String), '.').replace(/^\.$/, '') + trailing, res, next);
  });
  return r;
}
