import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';

/**
 * With `server.trustProxy` 0, a request carrying X-Forwarded-For most likely came through a
 * proxy Lectern was not told about: then every client has the proxy's address, so one login
 * throttle key (per address) covers everyone behind it, and the audit log records one address.
 * Says so once, at the first such request, in the server's log. Nothing when proxies are trusted.
 */
export function untrustedProxyWarning(logger: Logger, trustProxy: number): (req: IncomingMessage) => void {
  if (trustProxy > 0) return () => undefined;
  let warned = false;
  return (req) => {
    if (warned || req.headers['x-forwarded-for'] === undefined) return;
    warned = true;
    logger.warn(
      { remoteAddress: req.socket.remoteAddress },
      'a request came with X-Forwarded-For but server.trustProxy is 0: every client behind that proxy has its address, so they share one login throttle and one address in the audit log; set server.trustProxy (LECTERN_TRUST_PROXY) to the number of proxies in front of Lectern',
    );
  };
}
