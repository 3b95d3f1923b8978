import path from 'node:path';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../src/domain/errors.ts';
import { keyFromHeaders, type ApiKeyService } from '../src/services/api-key-service.ts';
import type { ContentFiles, ServableBundle } from '../src/services/content-files.ts';
import type { ThumbnailService } from '../src/services/thumbnail-service.ts';
import type { Origins } from '../src/http/origins.ts';
import type { ContentRunner } from '../runtimes/content-runner.ts';
import type { Content } from '../src/domain/content.ts';
import type { ReportRenderer } from '../src/domain/reports.ts';
import { handoffOf, THUMBNAIL } from './gateway.ts';
import { noteRenderShown } from './usage.ts';

const DRAFT = /^_bundle(\d+)$/;
const VARIANT = /^v([A-Za-z0-9]{8})$/;
const REVISION = /^_rev(\d{1,15})$/;

// An SVG can carry scripts: sandboxed and allowed nothing but its own inline styles, it is an
// image even when opened on its own at the content origin.
const SVG_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'";

/** The item's thumbnail, or 204 when it has none (connectapi's has_thumbnail() asks exactly that). */
async function sendThumbnail(thumbnails: ThumbnailService, content: Content, res: Response) {
  const t = await thumbnails.of(content);
  if (!t) return void res.status(204).end();
  // The exact type, without parameters: connectapi picks the file extension by exact match.
  res.setHeader('Content-Type', t.mimeType);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Who gets it depends on who asks: no shared cache may keep it.
  res.setHeader('Cache-Control', 'private, no-cache');
  if (t.mimeType === 'image/svg+xml') res.setHeader('Content-Security-Policy', SVG_POLICY);
  res.send(t.image);
}

/** Browsers are sent to log in (on Lectern's origin) and back; API callers get a 401 in Connect's shape. */
function loginOrUnauthorized(req: Request, res: Response, origin: Origins) {
  if (req.accepts(['html', 'json']) === 'html' && !keyFromHeaders(req.headers)) {
    const back = origin.content(req) + req.originalUrl.replace(/^\/+/, '/');
    return res.redirect(302, `${origin.main(req)}/login?next=${encodeURIComponent(back)}`);
  }
  throw AppError.unauthorized('Log in or send an API key to see this content.');
}

/** A locked item's message page, whatever address under it was asked for (Connect answers 200). */
function sendLocked(content: Content, user: unknown, res: Response) {
  res.setHeader('Cache-Control', 'private, no-cache');
  res.status(200).render('locked', { title: content.title ?? content.name, message: content.lockedMessage, user });
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
 * The pages side of `/content/{guid}/...`: static files, the newest render, redirects, login
 * and error pages. Requests for running apps are relayed by the gateway (gateway.ts) before
 * they reach Express; what it learnt about the others comes with them (`handoffOf`).
 */
export function contentRouter(
  files: ContentFiles,
  keys: ApiKeyService,
  runner: ContentRunner,
  reports: ReportRenderer,
  thumbnails: ThumbnailService,
  origin: Origins,
): Router {
  // Strict: `/content/{guid}` and `/content/{guid}/` are different addresses (one redirects).
  const r = Router({ strict: true });

  r.get('/content/:guid', (req, res) => {
    const q = req.originalUrl.indexOf('?');
    res.redirect(301, `/content/${encodeURIComponent(String(req.params.guid))}/${q >= 0 ? req.originalUrl.slice(q) : ''}`);
  });

  r.all('/content/:guid/{*rest}', async (req, res, next) => {
    const handoff = handoffOf(req);
    if (handoff?.error) throw handoff.error;
    const segments = (req.params as { rest?: string[] }).rest ?? [];
    const draft = segments[0] !== undefined ? DRAFT.exec(segments[0]) : null;
    if (draft && segments.length === 1 && !req.path.endsWith('/')) {
      return res.redirect(301, `${req.baseUrl}${req.path}/`);
    }
    const rest = draft ? segments.slice(1) : segments;
    let result = handoff?.resolution;
    let user = handoff?.user;
    if (!result) {
      // An API key identifies the caller here too (rsconnect-python checks the deploy with one).
      // A proxy worker's handoff says who it is (proxy/workers/handoff.ts).
      const key = keyFromHeaders(req.headers);
      if (!handoff) user = key ? (await keys.authenticate(key)).user : req.user;
      result = await files.resolve(user, String(req.params.guid), draft ? Number(draft[1]) : null);
    }
    // Of the published item (not a draft's address), for whoever may view it; not of content
    // never deployed, as Connect serves none for incomplete content (resolve's 404). A locked
    // item keeps its thumbnail: the catalog still shows it.
    const thumbnail = !draft && rest.length === 1 && rest[0] === THUMBNAIL && !req.path.endsWith('/');
    if (thumbnail && (result.ok || result.reason === 'locked')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new AppError(405, 2, 'The thumbnail accepts GET and HEAD only.');
      return sendThumbnail(thumbnails, result.ok ? result.target.content : result.content, res);
    }
    if (!result.ok) {
      if (result.reason === 'login') return loginOrUnauthorized(req, res, origin);
      if (result.reason === 'locked') return sendLocked(result.content, user, res);
      throw AppError.notFound('The requested content does not exist.');
    }
    const { content, bundle } = result.target;
    if (handoff?.starting) {
      return res.status(503).render('starting', { title: `Starting ${content.title ?? content.name}`, user: handoff.user, refreshSeconds: 2 });
    }
    let recipe;
    try {
      recipe = runner.recipe(bundle.appMode);
    } catch (err) {
      throw new AppError(503, 1, (err as Error).message);
    }
    // Running apps are the gateway's, which stands in front of every server that routes here.
    if (recipe.kind === 'served') throw new AppError(503, 1, 'This content is not available right now. Try again later.');
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new AppError(405, 2, 'This content accepts GET and HEAD only.');
    let target = result.target;
    let shown = rest;
    if (recipe.kind === 'rendered') {
      // `/v{key}/` and `/_rev{id}/` pick a variant and a past render (connect-api-next.md §3.5).
      const variant = !draft && shown[0] !== undefined ? VARIANT.exec(shown[0]) : null;
      if (variant) shown = shown.slice(1);
      const rev = !draft && shown[0] !== undefined ? REVISION.exec(shown[0]) : null;
      if (rev) shown = shown.slice(1);
      if ((variant || rev) && shown.length === 0 && !req.path.endsWith('/')) return res.redirect(301, `${req.baseUrl}${req.path}/`);
      const choice = draft ? 'newest' : await files.renderingOf(user, content, variant ? variant[1]! : null, rev ? Number(rev[1]) : null);
      const dir = choice === 'newest' ? await runner.renderDir(content.guid, bundle.id) : reports.outputDir(choice.outputPath);
      if (choice !== 'newest') noteRenderShown(res, choice);
      if (!dir) throw AppError.notFound('This report has not been rendered yet.');
      target = { ...target, dir, bundle: { ...bundle, primaryFile: choice === 'newest' ? 'index.html' : choice.outputFile } };
    }
    const trailing = req.path.endsWith('/') && shown.length > 0 ? '/' : '';
    serveStatic(target, path.posix.join(...shown.map(String), '.').replace(/^\.$/, '') + trailing, res, next);
  });
  return r;
}
