import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { SESSION_COOKIE_NAME } from '../src/domain/session.ts';

/** Who is asking, as the content is told (Connect's credentials header; Shiny reads its own). */
export interface Viewer {
  username: string;
  groups: string[];
}

/**
 * Prepares a request for content: Lectern's own credentials (its session cookie, an API key)
 * never reach the app; who the viewer is does, in headers Lectern sets itself.
 */
export function prepareForContent(req: IncomingMessage, path: string, basePath: string, viewer: Viewer | undefined): void {
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
  // Only Lectern says who the viewer is: whatever a client sent under these names goes.
  for (const h of ['rstudio-connect-credentials', 'shiny-server-credentials', 'x-lectern-user']) delete req.headers[h];
  req.headers['x-lectern-base-path'] = basePath;
  if (viewer) {
    const credentials = JSON.stringify({ user: viewer.username, groups: viewer.groups });
    req.headers['rstudio-connect-credentials'] = credentials;
    req.headers['shiny-server-credentials'] = credentials;
    req.headers['x-lectern-user'] = viewer.username;
  }
}

/**
 * Relays requests and WebSocket upgrades to content instances. http-proxy-3 for now; the proxy
 * issue replaces the HTTP path with the client its benchmark picks.
 */
export function createForwarder() {
  const proxy = createProxyServer({ xfwd: true, proxyTimeout: 0 });
  // An app must not set (or clear) Lectern's own session cookie.
  proxy.on('proxyRes', (proxyRes) => {
    const set = proxyRes.headers['set-cookie'];
    if (set) proxyRes.headers['set-cookie'] = set.filter((c) => !c.trim().startsWith(`${SESSION_COOKIE_NAME}=`));
  });
  proxy.on('error', (_err, _req, res) => {
    const r = res as ServerResponse | Duplex;
    if ('writeHead' in r && typeof r.writeHead === 'function') {
      const sr = r as ServerResponse;
      if (sr.headersSent) return sr.destroy();
      sr.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
      sr.end('The app did not answer: it may have stopped. Try again; its logs say why.');
      return;
    }
    r.destroy();
  });
  return {
    web(req: IncomingMessage, res: ServerResponse, target: string) {
      proxy.web(req, res, { target });
    },
    ws(req: IncomingMessage, socket: Duplex, head: Buffer, target: string) {
      proxy.ws(req, socket, head, { target });
    },
  };
}
