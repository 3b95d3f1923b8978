import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UsageRequest } from '../src/domain/usage.ts';

/**
 * What the proxy tells of who used what, for the instrumentation API (src/services/usage,
 * wired in the composition root; the proxy does not know it). Called on the request path, so
 * an implementation only buffers in memory: the writes happen later, off that path.
 */
export interface UsageRecorder {
  /**
   * False while recording is paused: the proxy then adds nothing to a request, as when usage
   * is off (bench/proxy compares the two on one server).
   */
  readonly recording: boolean;
  /** Any request to an item (Connect's "hits"). */
  hit(r: UsageRequest): void;
  /** A page view of an item (Connect's "visits"), and for a report the render it showed. */
  visit(r: UsageRequest & { shown: { variantKey: string; renderingId: number } | null }): void;
  /** A Shiny session began (its WebSocket was relayed); the function returned ends it. */
  sessionStarted(contentGuid: string, userGuid: string | null, at: Date): () => void;
}

/**
 * A page view, not an asset (§7.0): a GET answered with a document. The browser says so by
 * `Sec-Fetch-Dest` (a page, or a page framed by Lectern's dashboard); other clients (an
 * API consumer's fetch) by an HTML answer. A redirect or an error is no view; a page the
 * browser had cached (304) is.
 */
export function isPageView(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' || (res.statusCode >= 300 && res.statusCode !== 304)) return false;
  const dest = req.headers['sec-fetch-dest'];
  if (typeof dest === 'string') return dest === 'document' || dest === 'iframe';
  return /^\s*text\/html\b/i.test(String(res.getHeader('content-type') ?? ''));
}

const SHOWN = Symbol('lectern usage: the render shown');

/**
 * Which variant and rendering a report's answer showed: the page router picks them after the
 * gateway has set its listener, and notes them here for the visit.
 */
export function noteRenderShown(res: ServerResponse, shown: { variantKey: string; renderingId: number }): void {
  (res as ServerResponse & { [SHOWN]?: typeof shown })[SHOWN] = shown;
}

/** API modes: every answered request is a visit (§7.0: "... or make requests to applications or APIs"). */
export function isApiMode(appMode: string): boolean {
  return appMode === 'api' || appMode === 'python-api' || appMode === 'python-fastapi' || appMode === 'tensorflow-saved-model';
}

/** Shiny's app modes: their WebSocket is a session (§7.2). */
export function isShinyMode(appMode: string): boolean {
  return /(^|-)shiny$/.test(appMode);
}

/** What the finish listener needs of a request, kept on its response. */
interface Pending {
  usage: UsageRecorder;
  req: IncomingMessage;
  contentGuid: string;
  userGuid: string | null;
  bundleId: number;
  tail: string;
  api: boolean;
  at: Date;
}

const PENDING = Symbol('lectern usage: the request to record');

/**
 * Records the request when its response finished: always a hit, and a visit if it was a page
 * view, or any request an API answered. Added only when usage is recorded, and made for the
 * proxy's hot path: one object per request and one listener shared by all of them (no
 * closure), the rest done once the answer is sent.
 */
export function recordUsageWhenDone(
  usage: UsageRecorder | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  who: { contentGuid: string; userGuid: string | null; bundleId: number },
  tail: string,
  appMode: string,
): void {
  if (!usage?.recording) return;
  const pending: Pending = { usage, req, ...who, tail, api: isApiMode(appMode), at: new Date() };
  (res as ServerResponse & { [PENDING]?: Pending })[PENDING] = pending;
  // 'finish': the answer was sent in full; an abandoned request is not a view.
  res.on('finish', recordFinished);
}

function recordFinished(this: ServerResponse): void {
  const p = (this as ServerResponse & { [PENDING]?: Pending })[PENDING];
  if (!p) return;
  const { req } = p;
  const r = usageRequestOf(req, p, p.tail, p.at);
  p.usage.hit(r);
  if (p.api ? this.statusCode < 400 : isPageView(req, this)) {
    p.usage.visit({ ...r, shown: (this as ServerResponse & { [SHOWN]?: { variantKey: string; renderingId: number } })[SHOWN] ?? null });
  }
}

/** A request's usage row: `tail` is its path and query under the item's base path. */
export function usageRequestOf(
  req: IncomingMessage,
  who: { contentGuid: string; userGuid: string | null; bundleId: number },
  tail: string,
  time: Date,
): UsageRequest {
  const q = tail.indexOf('?');
  const h = req.headers;
  return {
    contentGuid: who.contentGuid,
    userGuid: who.userGuid,
    bundleId: who.bundleId,
    path: q < 0 ? tail : tail.slice(0, q),
    query: q < 0 ? '' : tail.slice(q + 1),
    userAgent: h['user-agent'] ?? null,
    secFetchDest: one(h['sec-fetch-dest']),
    secFetchSite: one(h['sec-fetch-site']),
    time,
  };
}

function one(v: string | string[] | undefined): string | null {
  return typeof v === 'string' ? v : null;
}
