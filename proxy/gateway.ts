import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AppError } from '../src/domain/errors.ts';
import type { Content } from '../src/domain/content.ts';
import type { User } from '../src/domain/user.ts';
import type { ContentFiles, Resolution } from '../src/services/content-files.ts';
import type { VanityService } from '../src/services/vanity-service.ts';
import type { ContentRunner } from '../runtimes/content-runner.ts';
import { prepareForContent, stickyCookie, stickyFrom, type Viewer } from './forward.ts';
import type { Lease, Placement, Scaling } from './instance-pool.ts';
import { UpstreamFailed, type HttpRelay } from './relay.ts';
import { acquireFailure, LazyServeRequest, relayFailure, timeoutsOf } from './serving.ts';
import { recordWhenClosed, type TrafficRecorder } from './traffic.ts';
import { recordUsageWhenDone, type UsageRecorder } from './usage.ts';
import { rewriteVanity, vanityBasePath } from './vanity.ts';

/** `/content/{guid}/`, or a draft's `/content/{guid}/_bundle{id}/`, and what follows. */
export const CONTENT_PATH = /^\/content\/([0-9a-fA-F-]{36})\/(?:_bundle(\d+)\/)?/;

/**
 * `/content/{guid}/__thumbnail__` (and a vanity path's): the item's thumbnail, which Lectern
 * serves itself (content-router.ts), whatever the content is (connect-api-next.md §2.1).
 */
export const THUMBNAIL = '__thumbnail__';

/** Who is asking: by API key, or the browser session (`viaCookie`). A bad key throws. */
export interface Identity {
  user: User | undefined;
  viaCookie: boolean;
}

/**
 * What the gateway learnt about a request it hands on to the page router (static files,
 * renders, redirects, login and error pages), so that router does not look it all up again.
 */
export interface Handoff {
  user: User | undefined;
  resolution?: Resolution;
  error?: AppError;
  /** The app is still starting: the viewer gets a page that retries. */
  starting?: boolean;
}

const HANDOFF = Symbol('lectern proxy handoff');

export function handoffOf(req: IncomingMessage): Handoff | undefined {
  return (req as IncomingMessage & { [HANDOFF]?: Handoff })[HANDOFF];
}

export function setHandoff(req: IncomingMessage, h: Handoff): void {
  (req as IncomingMessage & { [HANDOFF]?: Handoff })[HANDOFF] = h;
}

export interface GatewayDeps {
  identify(req: IncomingMessage): Promise<Identity>;
  files: ContentFiles;
  /** Which app modes run as processes. */
  runner: Pick<ContentRunner, 'serves'>;
  /** Where a request gets its process: the pool, or in a proxy worker the pool's owner. */
  pool: Placement;
  /** A content item's scaling: its settings within the server's defaults and ceilings. */
  scalingOf(c: Content): Scaling;
  vanities: VanityService;
  viewerOf(user: User): Promise<Viewer>;
  /** Signs a content item's credentials header (`Lectern-Credentials-Signature`). */
  signCredentials(contentGuid: string, credentials: string): string;
  relay: HttpRelay;
  /** Starts the request's access log line. */
  log(req: IncomingMessage, res: ServerResponse): void;
  /** A browser waiting longer than this for an app to start gets the "starting" page instead. */
  startingPageAfterMs: number;
  /** Where each request to an item is counted and timed (metrics); absent when they are off. */
  traffic?: TrafficRecorder;
  /** Where hits and page views are noted for the instrumentation API; absent when it is off. */
  usage?: UsageRecorder;
}

/** A page load (not a script's fetch): the viewer can be shown a page that retries. */
export function isNavigation(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const mode = req.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return /\btext\/html\b/.test(req.headers.accept ?? '') && req.headers['x-requested-with'] === undefined;
}

const delay = (ms: number) => new Promise<undefined>((resolve) => void setTimeout(resolve, ms));

/**
 * The proxy's fast path, ahead of Express: a request for a running app is authenticated,
 * checked, given a process and relayed here, with nothing else on the way. Everything else
 * (static files, renders, redirects, login, error and "starting" pages) is handed to `next`,
 * the page router, with what was learnt.
 */
export function contentGateway(deps: GatewayDeps) {
  return async (req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void> => {
    if (req.url?.startsWith('//')) req.url = req.url.replace(/^\/+/, '/');
    const url = req.url ?? '/';
    if (!url.startsWith('/content/') && (await rewriteVanity(req, deps.vanities)) !== 'rewritten') return next();
    const m = CONTENT_PATH.exec(req.url ?? '');
    if (!m) return next();
    const started = deps.traffic ? performance.now() : 0;
    deps.log(req, res);
    const contentUrl = req.url;
    const handOn = (h: Handoff) => {
      setHandoff(req, h);
      // The relay may have rewritten it for the app already.
      req.url = contentUrl;
      next();
    };
    let who: Identity;
    try {
      who = await deps.identify(req);
    } catch (err) {
      return handOn({ user: undefined, error: err as AppError });
    }
    const { user } = who;
    const draft = m[2] ? Number(m[2]) : null;
    let resolution: Resolution;
    try {
      resolution = await deps.files.resolve(user, m[1]!, draft);
    } catch (err) {
      return handOn({ user, error: err as AppError });
    }
    if (!resolution.ok) return handOn({ user, resolution });
    // Only items that exist are counted, so a label is never a guid someone made up.
    recordWhenClosed(deps.traffic, res, resolution.target.content.guid, started);
    // Never relayed to the app: the page router serves it, with the access just checked.
    if (draft === null && (contentUrl ?? '').slice(m[0].length).replace(/\?.*$/s, '') === THUMBNAIL) return handOn({ user, resolution });
    const target = resolution.target;
    // Set here, before the relay or the page router answers, so both kinds of content count.
    recordUsageWhenDone(
      deps.usage,
      req,
      res,
      { contentGuid: target.content.guid, userGuid: user?.guid ?? null, bundleId: target.bundle.id },
      (contentUrl ?? '/').slice(m[0].length - 1) || '/',
      target.bundle.appMode,
    );
    // Static files and renders (and app modes this server cannot run) are the page router's.
    if (!deps.runner.serves(target.bundle.appMode)) return handOn({ user, resolution });

    const { content } = target;
    // A draft's processes are not kept warm: only the active bundle's are.
    const scaling = draft === null ? deps.scalingOf(content) : { ...deps.scalingOf(content), minProcesses: 0 };
    const acquiring = deps.pool.acquire(new LazyServeRequest(deps.files, target), scaling, stickyFrom(req.headers.cookie, content.guid));
    let lease: Lease;
    try {
      if (isNavigation(req) && deps.startingPageAfterMs > 0) {
        const first = await Promise.race([acquiring, delay(deps.startingPageAfterMs)]);
        if (!first) {
          // The start goes on without this request; the page's retry finds the process.
          acquiring.then(
            (l) => l.release(),
            () => undefined,
          );
          res.setHeader('Retry-After', '2');
          return handOn({ user, resolution, starting: true });
        }
        lease = first;
      } else lease = await acquiring;
    } catch (err) {
      const failure = acquireFailure(err, deps.files.showsFailureDetails(user, content));
      if (failure.retryAfter !== undefined) res.setHeader('Retry-After', String(failure.retryAfter));
      return handOn({ user, resolution, error: failure.error });
    }
    // The viewer may have left during a cold start: 'close' has been and gone.
    if (res.destroyed) return lease.release();
    res.once('close', lease.release);
    const { instance, pathMode } = lease;
    const prefix = `/content/${content.guid}/${draft !== null ? `_bundle${draft}/` : ''}`;
    const publicBase = vanityBasePath(req) ?? prefix;
    const tail = (req.url ?? '/').slice(m[0].length - 1) || '/';
    // Apps serving under their base path were started with `/content/<guid>/`, drafts too.
    prepareForContent(req, pathMode === 'full' ? `/content/${content.guid}${tail}` : tail, publicBase, user ? await deps.viewerOf(user) : undefined, (c) =>
      deps.signCredentials(content.guid, c),
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    try {
      await deps.relay.forward(req, res, instance.target, {
        ...timeoutsOf(content),
        // The session stays on its process: the cookie names it (Shiny's WebSocket follows it).
        setCookie: `${stickyCookie(content.guid)}=${instance.key}; Path=${publicBase}; HttpOnly; SameSite=Lax`,
      });
    } catch (err) {
      if (!(err instanceof UpstreamFailed)) throw err;
      handOn({ user, resolution, error: relayFailure(err, deps.files.showsFailureDetails(user, content), target, instance.key) });
    }
  };
}

/**
 * Runs the gateway for one request, `next` taking what it hands on; a failure of the gateway's
 * own is logged and answered 500 (or the connection cut, once the answer had begun).
 */
export function runGateway(gateway: ReturnType<typeof contentGateway>, logger: Logger, req: IncomingMessage, res: ServerResponse, next: () => void): void {
  gateway(req, res, next).catch((err: unknown) => {
    logger.error({ err, url: req.url }, 'proxy failed');
    if (res.headersSent) return res.destroy();
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('An internal failure occurred.');
  });
}
