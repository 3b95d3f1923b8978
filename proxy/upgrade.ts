import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Content } from '../src/domain/content.ts';
import type { User } from '../src/domain/user.ts';
import type { VanityService } from '../src/services/vanity-service.ts';
import type { ContentFiles } from '../src/services/content-files.ts';
import type { ContentRunner } from '../runtimes/content-runner.ts';
import { prepareForContent, stickyFrom, type Viewer } from './forward.ts';
import { CONTENT_PATH, type Identity } from './gateway.ts';
import type { Placement, Scaling } from './instance-pool.ts';
import { acquireFailure, LazyServeRequest } from './serving.ts';
import { rewriteVanity, vanityBasePath } from './vanity.ts';
import type { TrafficRecorder } from './traffic.ts';
import { isShinyMode, type UsageRecorder } from './usage.ts';
import type { WsRelay } from './ws-relay.ts';

export interface UpgradeDeps {
  files: ContentFiles;
  /** Which app modes run as processes. */
  runner: Pick<ContentRunner, 'serves'>;
  relay: WsRelay;
  /** Express middleware does not run on upgrades: the server supplies who is asking. */
  identify(req: IncomingMessage): Promise<Identity>;
  viewerOf(user: User): Promise<Viewer>;
  /** Signs a content item's credentials header (`Lectern-Credentials-Signature`). */
  signCredentials(contentGuid: string, credentials: string): string;
  vanities: VanityService;
  /** Where a WebSocket gets its process: the pool, or in a proxy worker the pool's owner. */
  pool: Placement;
  /** A content item's scaling: its settings within the server's defaults and ceilings. */
  scalingOf(c: Content): Scaling;
  /** The origins a cookie-authenticated WebSocket may come from (cross-site hijacking). */
  allowedOrigins(req: IncomingMessage): string[];
  /** Seconds between keep-alive pings to the viewer. */
  pingSeconds: number;
  /** Where each relayed WebSocket is counted (metrics); absent when they are off. */
  traffic?: TrafficRecorder;
  /** Where Shiny sessions are noted for the instrumentation API; absent when it is off. */
  usage?: UsageRecorder;
}

function refuse(socket: Duplex, status: number, reason: string, extra = '') {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** The relay's `done`: the slot freed, and the WebSocket counted as closed when metrics are on. */
function closed(traffic: TrafficRecorder | undefined, contentGuid: string, release: () => void): () => void {
  if (!traffic) return release;
  traffic.websocketOpened(contentGuid);
  return () => {
    release();
    traffic.websocketClosed(contentGuid);
  };
}

/**
 * A Shiny app's WebSocket is a session (connect-api-next.md §7.2): from the moment the relay
 * joined the viewer to the app (an upgrade the app refused is no session) until it closed.
 */
function shinySession(usage: UsageRecorder | undefined, appMode: string, contentGuid: string, userGuid: string | null) {
  if (!usage?.recording || !isShinyMode(appMode)) return undefined;
  let end: (() => void) | undefined;
  return {
    joined: () => void (end = usage.sessionStarted(contentGuid, userGuid, new Date())),
    closed: () => end?.(),
  };
}

/** WebSocket upgrades to content: the same access check as HTTP, then a relay both ways. */
export function contentUpgrade(deps: UpgradeDeps) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void (async () => {
      if (req.url?.startsWith('//')) req.url = req.url.replace(/^\/+/, '/');
      // A vanity path first becomes the content path it stands for.
      await rewriteVanity(req, deps.vanities);
      const m = CONTENT_PATH.exec(req.url ?? '');
      if (!m) return refuse(socket, 404, 'Not Found');
      let who: Identity;
      try {
        who = await deps.identify(req);
      } catch {
        return refuse(socket, 401, 'Unauthorized');
      }
      const origin = req.headers.origin;
      if (who.viaCookie && origin && !deps.allowedOrigins(req).includes(origin)) return refuse(socket, 403, 'Forbidden');
      const draft = m[2] ? Number(m[2]) : null;
      const result = await deps.files.resolve(who.user, m[1]!, draft).catch(() => undefined);
      if (!result) return refuse(socket, 404, 'Not Found');
      if (!result.ok && result.reason === 'locked') return refuse(socket, 403, 'Forbidden');
      if (!result.ok) return refuse(socket, result.reason === 'login' ? 401 : 404, result.reason === 'login' ? 'Unauthorized' : 'Not Found');
      const { content } = result.target;
      if (!deps.runner.serves(result.target.bundle.appMode)) return refuse(socket, 404, 'Not Found');
      let lease;
      try {
        // A draft's processes are not kept warm: only the active bundle's are.
        const scaling = draft === null ? deps.scalingOf(content) : { ...deps.scalingOf(content), minProcesses: 0 };
        const { target } = result;
        lease = await deps.pool.acquire(new LazyServeRequest(deps.files, target), scaling, stickyFrom(req.headers.cookie, content.guid));
      } catch (err) {
        const { retryAfter } = acquireFailure(err, deps.files.showsFailureDetails(who.user, content));
        return refuse(socket, 503, 'Service Unavailable', retryAfter !== undefined ? `Retry-After: ${retryAfter}\r\n` : '');
      }
      // From here the connection slot is this request's until the relay takes it over.
      try {
        if (socket.destroyed) return lease.release();
        const { instance, pathMode } = lease;
        const tail = (req.url ?? '/').slice(m[0].length - 1) || '/';
        // Apps serving under their base path were started with `/content/<guid>/`, drafts too.
        const path = pathMode === 'full' ? `/content/${content.guid}${tail}` : tail;
        prepareForContent(req, path, vanityBasePath(req) ?? m[0], who.user ? await deps.viewerOf(who.user) : undefined, (c) =>
          deps.signCredentials(content.guid, c),
        );
        const session = shinySession(deps.usage, result.target.bundle.appMode, content.guid, who.user?.guid ?? null);
        const done = closed(deps.traffic, content.guid, lease.release);
        // A WebSocket holds its process's connection slot for as long as it is open.
        deps.relay.forward(req, socket, head, instance.target, { pingSeconds: deps.pingSeconds, onJoined: session?.joined }, () => {
          done();
          session?.closed();
        });
      } catch (err) {
        lease.release();
        throw err;
      }
    })().catch(() => refuse(socket, 503, 'Service Unavailable'));
  };
}

/** The origins a cookie-authenticated WebSocket may come from: the content origin's, as configured or as addressed. */
export function contentOrigins(contentUrl: string | undefined) {
  return (req: IncomingMessage): string[] => {
    const host = req.headers.host ?? '';
    return [contentUrl ?? `http://${host}`, `https://${host}`];
  };
}
