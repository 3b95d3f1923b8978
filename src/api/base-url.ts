import type { Request } from 'express';

/** The configured public URL, else what this request was addressed to (honouring trusted proxies). */
export function baseUrl(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}
