import type { Request } from 'express';

/**
 * The configured public URL (and then no request's Host header goes into an answer), else
 * what this request was addressed to: its Host, or a trusted proxy's X-Forwarded-Host.
 */
export function baseUrl(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.host ?? 'localhost'}`;
}
