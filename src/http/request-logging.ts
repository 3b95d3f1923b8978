import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

const LOGGED = Symbol('lectern request logged');

/** The client's request id when it is a sane one, else a new one; echoed in X-Request-Id. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const known = (req as IncomingMessage & { id?: unknown }).id;
  if (typeof known === 'string') return known;
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}

function levelFor(status: number, failed: boolean): 'error' | 'warn' | 'info' {
  return failed || status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

/** One JSON line per request, with a request id that is honoured from and echoed to the client. */
export function requestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: requestId,
    customLogLevel: (_req, res, err) => levelFor(res.statusCode, !!err),
    // Requests the proxy's fast path already logs are not logged twice when it hands them on.
    autoLogging: { ignore: (req) => req.url === '/__ping__' || req.url === '/__health__' || LOGGED in req },
  });
}

/**
 * The same line as requestLogging, for the proxy's fast path, without Express or pino-http's
 * per-request machinery: the proxy answers most requests a viewer's page makes.
 */
export function accessLog(logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const id = requestId(req, res);
    (req as IncomingMessage & { [LOGGED]?: true })[LOGGED] = true;
    const start = performance.now();
    const { method, url } = req;
    const done = () => {
      res.off('close', done);
      const level = levelFor(res.statusCode, !res.writableFinished);
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        { req: { id, method, url }, res: { statusCode: res.statusCode }, responseTime: Math.round(performance.now() - start) },
        res.writableFinished ? 'request completed' : 'request aborted',
      );
    };
    res.once('close', done);
  };
}

/** rsconnect-python 1.28 checks `//content/{guid}/`: treat runs of leading slashes as one. */
export const collapseLeadingSlashes: RequestHandler = (req, _res, next) => {
  if (req.url.startsWith('//')) req.url = req.url.replace(/^\/+/, '/');
  next();
};
