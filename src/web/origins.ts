import type { Request } from 'express';

export interface OriginSettings {
  publicUrl: string | undefined;
  contentUrl: string | undefined;
  /** The ports actually bound (0 in config means "any"). */
  mainPort(): number;
  contentPort(): number;
}

/**
 * Lectern's two origins. Its pages and API on one; content on another (a port of its own on
 * the same host, or a configured URL), same-site so the session cookie reaches content, but
 * cross-origin, so content scripts can read nothing of Lectern's and cannot pass its CSRF and
 * CORS checks.
 */
export function origins(o: OriginSettings) {
  // Express 5 gives IPv6 hostnames with their brackets already.
  const host = (req: Request) => (req.hostname.includes(':') && !req.hostname.startsWith('[') ? `[${req.hostname}]` : req.hostname);
  return {
    main: (req: Request) => o.publicUrl ?? `${req.protocol}://${host(req)}:${o.mainPort()}`,
    content: (req: Request) => o.contentUrl ?? `${req.protocol}://${host(req)}:${o.contentPort()}`,
  };
}

export type Origins = ReturnType<typeof origins>;
