import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { parseTarget } from '../runtimes/target.ts';
import { forwardedHeaders, isLecternCookie, type Forwarding } from './forward.ts';

/** Per connection, not end to end (RFC 9110 7.6.1): never relayed. `expect` because Node answers 100-continue itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'proxy-authorization',
  'proxy-authenticate',
]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
const POOL_IDLE_MS = 60_000;

export interface RelayOptions {
  /** Longest wait for the app's response headers (Connect's `read_timeout`); 0 for none. */
  readTimeoutMs: number;
  /** Longest silence while the response body streams (Connect's `connection_timeout`); 0 for none. */
  idleTimeoutMs: number;
  /** A Set-Cookie Lectern adds after the app's own (the sticky process choice). */
  setCookie?: string;
  /**
   * The answer is Lectern's own (a proxy worker relaying to the server process's pages): its
   * cookies (the session) and its framing policy pass as they are.
   */
  own?: boolean;
}

/** What the relay adds of Lectern's to every request and response. */
export interface RelayPolicy {
  /** How X-Forwarded-* are filled in for the app. */
  forwarding: Forwarding;
  /** Lectern's own origin for this request: the only one whose pages may frame content. */
  frameAncestors(req: IncomingMessage): string;
}

/** Why a relay failed before the app answered: the app is gone, or too slow. */
export class UpstreamFailed extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

function requestHeaders(req: IncomingMessage, forwarding: Forwarding): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const headers = req.headers;
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return Object.assign(out, forwardedHeaders(req, forwarding));
}

const FRAME_ANCESTORS = /(^|[;,])\s*frame-ancestors(\s|;|,|$)/i;

/**
 * Only Lectern's own pages may frame content (clickjacking): an app's answer gets
 * `frame-ancestors <Lectern's origin>` as a policy of its own, beside any the app sent (a
 * browser enforces every policy), unless the app's own policy already says frame-ancestors:
 * then the app has decided, and its choice stands.
 */
function addFrameAncestors(out: Record<string, number | string | string[] | undefined>, ancestors: string) {
  const own = out['content-security-policy'];
  const policies: string[] = own === undefined ? [] : Array.isArray(own) ? own.map(String) : [String(own)];
  if (policies.some((p) => FRAME_ANCESTORS.test(p))) return;
  const ours = `frame-ancestors ${ancestors}`;
  out['content-security-policy'] = policies.length ? [...policies, ours] : ours;
}

/** `frameAncestors` undefined: the answer is Lectern's own (RelayOptions.own), left as it is. */
function responseHeaders(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  setCookie: string | undefined,
  frameAncestors: string | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (name === 'set-cookie' && frameAncestors !== undefined) {
      // An app must not set (or clear) Lectern's own cookies.
      const kept = (Array.isArray(value) ? value : [value]).filter((c) => !isLecternCookie(c));
      if (kept.length) out[name] = kept;
      continue;
    }
    out[name] = value;
  }
  if (setCookie) out['set-cookie'] = [...((out['set-cookie'] as string[] | undefined) ?? []), setCookie];
  if (frameAncestors !== undefined) addFrameAncestors(out, frameAncestors);
  return out;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * Relays HTTP requests to content instances over undici connection pools, one per instance,
 * kept alive between requests. Chosen by measurement (bench/proxy): on this machine an undici
 * pool relays about 2.5 times as many requests per second as http-proxy-3 does.
 */
export class HttpRelay {
  private readonly pools = new Map<string, { pool: Pool; used: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly policy: RelayPolicy) {
    // A pool per instance; an instance that stopped leaves its pool idle, and it is closed.
    this.sweeper = setInterval(() => this.sweep(), POOL_IDLE_MS / 2);
    this.sweeper.unref();
  }

  private poolFor(target: string): Pool {
    let entry = this.pools.get(target);
    if (!entry) {
      // Apps close idle keep-alive connections after a few seconds (gunicorn after 2); a
      // shorter timeout on this side keeps requests off connections about to close.
      const { url, socketPath } = parseTarget(target);
      entry = {
        pool: new Pool(url, {
          connections: 256,
          keepAliveTimeout: 1500,
          keepAliveMaxTimeout: 1500,
          headersTimeout: 0,
          bodyTimeout: 0,
          ...(socketPath ? { socketPath } : {}),
        }),
        used: 0,
      };
      this.pools.set(target, entry);
    }
    entry.used = Date.now();
    return entry.pool;
  }

  private sweep() {
    const now = Date.now();
    for (const [target, entry] of this.pools) {
      if (now - entry.used > POOL_IDLE_MS) {
        this.pools.delete(target);
        void entry.pool.close().catch(() => undefined);
      }
    }
  }

  /**
   * Sends `req` (its URL and headers already prepared for the app) to `target` and streams the
   * answer into `res`. Rejects with UpstreamFailed when the app did not answer (nothing has
   * been written to `res` then); a failure mid-body ends the response early.
   */
  async forward(req: IncomingMessage, res: ServerResponse, target: string, opts: RelayOptions): Promise<void> {
    const body = hasBody(req) ? req : null;
    const options: Dispatcher.DispatchOptions = {
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers: requestHeaders(req, this.policy.forwarding),
      body,
      headersTimeout: opts.readTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
    };
    const answer = { setCookie: opts.setCookie, frameAncestors: opts.own ? undefined : this.policy.frameAncestors(req) };
    try {
      try {
        await this.dispatch(target, options, res, answer);
      } catch (err) {
        // A kept-alive connection the app closed just as it was reused: safe to try once more
        // when nothing was sent yet and the request may be repeated.
        if (res.headersSent || res.destroyed || body || !IDEMPOTENT.has(req.method ?? '') || !isSocketReset(err)) throw err;
        await this.dispatch(target, options, res, answer);
      }
    } catch (err) {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const code = (err as { code?: string }).code ?? '';
      throw new UpstreamFailed(`The app did not answer (${code || (err as Error).message}).`, code === 'UND_ERR_HEADERS_TIMEOUT');
    }
  }

  /**
   * undici's handler interface rather than its stream() helper: measured, the helper's
   * AbortSignal and stream plumbing cost a fifth of the relay's throughput.
   */
  private dispatch(
    target: string,
    options: Dispatcher.DispatchOptions,
    res: ServerResponse,
    answer: { setCookie: string | undefined; frameAncestors: string | undefined },
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let controller: Dispatcher.DispatchController | undefined;
      // The viewer left: stop the app's request too.
      const onClose = () => {
        if (!res.writableFinished) controller?.abort(new Error('The viewer closed the connection.'));
      };
      res.once('close', onClose);
      const settle = (err?: Error) => {
        res.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      this.poolFor(target).dispatch(options, {
        onRequestStart(c) {
          controller = c;
          if (res.destroyed) c.abort(new Error('The viewer closed the connection.'));
        },
        onResponseStart(_controller, statusCode, headers) {
          // 1xx answers are Node's to send (100-continue) or not needed (103).
          if (statusCode < 200) return;
          res.writeHead(statusCode, responseHeaders(headers, answer.setCookie, answer.frameAncestors));
        },
        onResponseData(c, chunk) {
          if (!res.write(chunk)) {
            c.pause();
            res.once('drain', () => c.resume());
          }
        },
        onResponseEnd() {
          res.end();
          settle();
        },
        onResponseError(_c, err) {
          settle(err);
        },
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.pools.values()].map((e) => e.pool.close().catch(() => undefined)));
    this.pools.clear();
  }
}

function isSocketReset(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}
