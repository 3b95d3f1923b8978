import type { Response } from 'express';

/**
 * Content shares Lectern's origin, so a publisher's script would otherwise run with a
 * viewer's session: it could read Lectern's pages (and their CSRF tokens) and call the API as
 * that viewer, an administrator included. The CSP sandbox without `allow-same-origin` gives
 * every content page an opaque origin instead: its scripts run, but they cannot read
 * Lectern's responses or send its cookies. Inside that sandbox, inline scripts and styles are
 * allowed, because R Markdown, Quarto and Jupyter output depend on them.
 */
export const CONTENT_SECURITY_POLICY = [
  'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-downloads allow-modals',
  "default-src 'self' data: blob: 'unsafe-inline' 'unsafe-eval'",
  "img-src 'self' data: blob: https:",
  "frame-ancestors 'self'",
].join('; ');

export function applyContentSecurity(res: Response): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  // A sandboxed page's origin is opaque, so its own scripts and images count as cross-origin
  // loads; `same-origin` (helmet's default for Lectern's pages) would block them. Other sites
  // gain nothing: private content needs Lectern's cookie, which is SameSite=Lax.
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
}
