import type { IncomingMessage, ServerResponse } from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import { SESSION_COOKIE_NAME } from '../src/domain/session.ts';

/**
 * Relays a request to a content instance. A placeholder until the proxy issue chooses its
 * HTTP client by measurement: it already strips Lectern's credentials, so an app never sees
 * a viewer's session cookie or API key.
 */
export function createForwarder() {
  const proxy = createProxyServer({ xfwd: true, proxyTimeout: 0 });
  proxy.on('error', (_err, _req, res) => {
    const r = res as ServerResponse;
    if (r.headersSent || typeof r.writeHead !== 'function') return r.destroy?.();
    r.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
    r.end('The app did not answer: it may have stopped. Try again; its logs say why.');
  });
  return (req: IncomingMessage, res: ServerResponse, target: string, path: string, basePath: string) => {
    req.url = path;
    const cookie = req.headers.cookie;
    if (cookie) {
      const kept = cookie.split(';').map((c) => c.trim()).filter((c) => c && !c.startsWith(`${SESSION_COOKIE_NAME}=`));
      if (kept.length) req.headers.cookie = kept.join('; ');
      else delete req.headers.cookie;
    }
    if (/^Key\s/i.test(req.headers.authorization ?? '')) delete req.headers.authorization;
    delete req.headers['x-rsc-authorization'];
    // WSGI servers map headers with underscores onto CGI variables (a client's `SCRIPT_NAME`
    // header would set the app's SCRIPT_NAME); like nginx, drop them.
    for (const h of Object.keys(req.headers)) if (h.includes('_')) delete req.headers[h];
    req.headers['x-lectern-base-path'] = basePath;
    proxy.web(req, res, { target });
  };
}
