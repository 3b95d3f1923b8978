/**
 * Where to go after logging in: a path on Lectern's origin, or an address on the content origin
 * (a viewer sent to log in from there). Anything else (`next=//evil.example`, another site)
 * would make an open redirect and falls back.
 */
export function safeNext(next: unknown, contentOrigin: string, fallback = '/'): string {
  if (typeof next !== 'string') return fallback;
  if (next.startsWith(`${contentOrigin}/`)) return next;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  return next;
}
