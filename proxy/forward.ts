import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { SESSION_COOKIE_NAME } from '../src/domain/session.ts';

/** Who is asking, as the content is told (Connect's credentials header; Shiny reads its own). */
export interface Viewer {
  username: string;
  groups: string[];
}

/** The cookie that keeps a viewer's session on one process of a content item. */
export function stickyCookie(contentGuid: string): string {
  return `lectern_p_${contentGuid.slice(0, 8)}`;
}

export function stickyFrom(cookieHeader: string | undefined, contentGuid: string): string | undefined {
  const name = `${stickyCookie(contentGuid)}=`;
  return cookieHeader?.split(';').map((c) => c.trim()).find((c) => c.startsWith(name))?.slice(name.length);
}

const STICKY = Symbol('lectern sticky cookie');

/**
 * True for a Set-Cookie line that would set one of Lectern's cookies. Browsers trim the name
 * (`lectern_session =x`) and read a nameless cookie's value as `name=value` (`=lectern_session=x`).
 */
function isLecternCookie(setCookie: string): boolean {
  const pair = setCookie.split(';')[0] ?? '';
  const eq = pair.indexOf('=');
  let name = (eq < 0 ? '' : pair.slice(0, eq)).trim();
  if (name === '') name = (pair.slice(eq + 1).split('=')[0] ?? '').trim();
  return name.toLowerCase().startsWith('lectern_') || name.toLowerCase().startsWith('__host-lectern');
}

/** Asks the relay to add this Set-Cookie to the app's response (after the app's own headers). */
export function setSticky(req: IncomingMessage, cookie: string): void {
  (req as IncomingMessage & { [STICKY]?: string })[STICKY] = cookie;
}

/**
 * Prepares a request for content: Lectern's own credentials (its session cookie, an API key)
 * never reach the app; who the viewer is does, in headers Lectern sets itself.
 */
export function prepareForContent(req: IncomingMessage, path: string, basePath: string, viewer: Viewer | undefined): void {
  req.url = path;
  const cookie = req.headers.cookie;
  if (cookie) {
    // Lectern's own cookies (the session, the process choice) are none of the app's business.
    const kept = cookie.split(';').map((c) => c.trim()).filter((c) => c && !c.startsWith(`${SESSION_COOKIE_NAME}=`) && !c.startsWith('lectern_p_'));
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
  // Keep-alive to the apps: a new TCP connection per request was the proxy's largest cost.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  const proxy = createProxyServer({ xfwd: true, proxyTimeout: 0, agent });
  // An app must not set (or clear) Lectern's own session cookie.
  proxy.on('proxyRes', (proxyRes, req) => {
    const set = (proxyRes.headers['set-cookie'] ?? []).filter((c) => !isLecternCookie(c));
    const sticky = (req as IncomingMessage & { [STICKY]?: string })[STICKY];
    if (sticky) set.push(sticky);
    if (set.length) proxyRes.headers['set-cookie'] = set;
    else delete proxyRes.headers['set-cookie'];
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
