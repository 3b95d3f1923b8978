import type { IncomingMessage } from 'node:http';
import { SESSION_COOKIE_NAME } from '../src/domain/session.ts';
import { CREDENTIALS_SIGNATURE_HEADER } from '../src/services/credentials-signature.ts';
import { PROXY_SECRET_HEADER } from '../src/domain/proxy-auth.ts';

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
  return cookieHeader
    ?.split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(name))
    ?.slice(name.length);
}

/**
 * True for a Set-Cookie line that would set one of Lectern's cookies. Browsers trim the name
 * (`lectern_session =x`) and read a nameless cookie's value as `name=value` (`=lectern_session=x`).
 */
export function isLecternCookie(setCookie: string): boolean {
  const pair = setCookie.split(';')[0] ?? '';
  const eq = pair.indexOf('=');
  let name = (eq < 0 ? '' : pair.slice(0, eq)).trim();
  if (name === '') name = (pair.slice(eq + 1).split('=')[0] ?? '').trim();
  return name.toLowerCase().startsWith('lectern_') || name.toLowerCase().startsWith('__host-lectern');
}

/** The Cookie header an app gets: Lectern's own cookies (the session, the process choice) are none of its business. */
export function appCookie(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  const kept = cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith(`${SESSION_COOKIE_NAME}=`) && !c.startsWith('lectern_p_'));
  return kept.length ? kept.join('; ') : undefined;
}

/** What an app is told of the viewer: Connect's credentials, the user, and the item's signature of them. */
export function viewerHeaders(viewer: Viewer, sign: (credentials: string) => string): { credentials: string; user: string; signature: string } {
  const credentials = JSON.stringify({ user: viewer.username, groups: viewer.groups });
  return { credentials, user: viewer.username, signature: sign(credentials) };
}

/**
 * Prepares a request for content: Lectern's own credentials (its session cookie, an API key)
 * never reach the app; who the viewer is does, in headers Lectern sets itself, with a
 * signature the app can check (`sign`: the content item's, src/services/credentials-signature.ts).
 */
export function prepareForContent(
  req: IncomingMessage,
  path: string,
  basePath: string,
  viewer: Viewer | undefined,
  sign: (credentials: string) => string,
): void {
  req.url = path;
  const cookie = appCookie(req.headers.cookie);
  if (cookie) req.headers.cookie = cookie;
  else delete req.headers.cookie;
  if (appAuthorization(req.headers.authorization) === undefined) delete req.headers.authorization;
  delete req.headers['x-rsc-authorization'];
  // WSGI servers map headers with underscores onto CGI variables (a client's `SCRIPT_NAME`
  // header would set the app's SCRIPT_NAME); like nginx, drop them.
  for (const h of Object.keys(req.headers)) if (h.includes('_')) delete req.headers[h];
  // Only Lectern says who the viewer is: whatever a client sent under these names goes.
  // The front proxy's secret (proxied authentication) would let an app log in as anyone.
  for (const h of ['rstudio-connect-credentials', 'shiny-server-credentials', 'x-lectern-user', CREDENTIALS_SIGNATURE_HEADER, PROXY_SECRET_HEADER])
    delete req.headers[h];
  req.headers['x-lectern-base-path'] = basePath;
  if (viewer) {
    const v = viewerHeaders(viewer, sign);
    req.headers['rstudio-connect-credentials'] = v.credentials;
    req.headers['shiny-server-credentials'] = v.credentials;
    req.headers['x-lectern-user'] = v.user;
    req.headers[CREDENTIALS_SIGNATURE_HEADER] = v.signature;
  }
}

/** The Authorization header an app gets: its own scheme's, never a Lectern API key. */
export function appAuthorization(authorization: string | undefined): string | undefined {
  return authorization === undefined || /^Key\s/i.test(authorization) ? undefined : authorization;
}

/** How the relays fill in X-Forwarded-* for apps (server.ts wires it from the configuration). */
export interface Forwarding {
  /** `server.trustProxy`: with 0, no X-Forwarded-Host or -Proto a client sends is believed. */
  trustProxy: number;
  /** The configured public URL of the origin a request came in on (publicUrl, contentUrl), if any. */
  originOf(req: IncomingMessage): string | undefined;
}

/**
 * What http-proxy's `xfwd` added: the client's address, scheme and host, for the app. The
 * host and scheme are the configured URL's of the origin the request came in on; without one,
 * a trusted proxy's (trustProxy > 0), else the request's own Host and connection: a client's
 * X-Forwarded-Host never reaches an app unless a proxy Lectern trusts set it.
 */
export function forwardedHeaders(
  req: IncomingMessage,
  forwarding: Forwarding,
): { 'x-forwarded-for': string; 'x-forwarded-proto': string; 'x-forwarded-host': string } {
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  let proto: string;
  let host: string;
  const configured = forwarding.originOf(req);
  if (configured) {
    const u = new URL(configured);
    proto = u.protocol.slice(0, -1);
    host = u.host;
  } else {
    const trusted = (v: string | string[] | undefined) =>
      forwarding.trustProxy > 0 ? (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined : undefined;
    proto = trusted(req.headers['x-forwarded-proto']) ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
    host = trusted(req.headers['x-forwarded-host']) ?? req.headers.host ?? '';
  }
  return {
    // No address: a Unix socket, whose peer (the nginx front) added the client's already.
    'x-forwarded-for': prior ? (remote ? `${String(prior)}, ${remote}` : String(prior)) : remote,
    'x-forwarded-proto': proto,
    'x-forwarded-host': host,
  };
}
