import type { IncomingMessage } from 'node:http';

export interface OriginSettings {
  publicUrl: string | undefined;
  contentUrl: string | undefined;
  /** The ports actually bound (0 in config means "any"). */
  mainPort(): number;
  contentPort(): number;
}

/** What of a request an origin is built from when none is configured (an Express request has both). */
export interface Addressed {
  protocol: string;
  hostname: string;
}

/**
 * Lectern's two origins. Its pages and API on one; content on another (a port of its own on
 * the same host, or a configured URL), same-site so the session cookie reaches content, but
 * cross-origin, so content scripts can read nothing of Lectern's and cannot pass its CSRF and
 * CORS checks.
 *
 * With `server.publicUrl` set, no request's Host header goes into either: Lectern's origin is
 * publicUrl, the content origin `server.contentUrl` or else publicUrl's host on the content
 * port. Without it, both are built from the request (its Host, or a trusted proxy's
 * X-Forwarded-Host), as Express reports it.
 */
export function origins(o: OriginSettings) {
  // Express 5 gives IPv6 hostnames with their brackets already.
  const host = (req: Addressed) => (req.hostname.includes(':') && !req.hostname.startsWith('[') ? `[${req.hostname}]` : req.hostname);
  const pub = o.publicUrl === undefined ? undefined : new URL(o.publicUrl);
  /** The content origin when the configuration says it: contentUrl, or publicUrl's host. */
  const configuredContent = () => o.contentUrl ?? (pub ? `${pub.protocol}//${pub.hostname}:${o.contentPort()}` : undefined);
  const main = (req: Addressed) => o.publicUrl ?? `${req.protocol}://${host(req)}:${o.mainPort()}`;
  const owns = new Map<string, string>();
  return {
    main,
    content: (req: Addressed) => configuredContent() ?? `${req.protocol}://${host(req)}:${o.contentPort()}`,
    /** Lectern's own origin alone (publicUrl may carry a path): what may frame content. */
    own: (req: Addressed) => {
      // Asked on every relayed request: parsed once per scheme and host.
      const k = `${req.protocol}//${req.hostname}`;
      let v = owns.get(k);
      if (v === undefined) {
        if (owns.size >= 1000) owns.clear();
        owns.set(k, (v = new URL(main(req)).origin));
      }
      return v;
    },
    /**
     * The configured URL of the origin a raw request came in on (told apart by the port it
     * reached), or undefined when that origin is built from requests.
     */
    configuredFor: (req: IncomingMessage) => (onContentOrigin(req, o.contentPort()) ? configuredContent() : o.publicUrl),
  };
}

export type Origins = ReturnType<typeof origins>;

/**
 * True for a request to the content origin: one on its port, or on a Unix socket, where only
 * the content origin's own front ends (the nginx front, a proxy worker's hand-over) connect;
 * Lectern's own origin is never served on one.
 */
function onContentOrigin(req: IncomingMessage, contentPort: number): boolean {
  const port = req.socket.localPort;
  return port === undefined || port === contentPort;
}

/**
 * A raw request's scheme and host as Express would report them (the proxy's fast path sees
 * requests before Express does): a trusted proxy's X-Forwarded-Proto and -Host, else the
 * connection's own scheme and the Host header.
 */
export function addressedOf(req: IncomingMessage, trustProxy: number): Addressed {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;
  const forwardedProto = trustProxy > 0 ? first(req.headers['x-forwarded-proto']) : undefined;
  const forwardedHost = trustProxy > 0 ? first(req.headers['x-forwarded-host']) : undefined;
  const hostHeader = forwardedHost ?? req.headers.host ?? 'localhost';
  // Without the port: `[::1]:3939` -> `[::1]`, `example.com:3939` -> `example.com`.
  const hostname = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]!;
  const protocol = forwardedProto ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  return { protocol, hostname };
}
