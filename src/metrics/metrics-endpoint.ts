import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether `Authorization` carries `Bearer <token>`. The digests are compared, not the strings:
 * timingSafeEqual needs equal lengths, and neither the token's length nor its prefix shows in the time taken.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')?.[1];
  const same = timingSafeEqual(digest(given ?? ''), digest(token));
  return given !== undefined && same;
}

/**
 * The Prometheus text exposition of `registry`. With a `token`, only to `Authorization: Bearer
 * <token>` (Lectern's own port); without, to anyone who reaches it (an address of its own).
 */
export function metricsHandler(registry: Registry, token: string | undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed.\n');
      return;
    }
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res
        .writeHead(401, { 'www-authenticate': 'Bearer realm="lectern-metrics"', 'content-type': 'text/plain; charset=utf-8' })
        .end('A bearer token is required.\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`Metrics could not be collected: ${(err as Error).message}\n`);
      },
    );
  };
}
