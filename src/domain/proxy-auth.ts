/**
 * The header a front proxy proves itself with in proxied authentication (`auth.proxy.secret`).
 * Fixed, not configurable, so the content relay can always strip it (proxy/forward.ts): an
 * app that saw it could log in as anyone.
 */
export const PROXY_SECRET_HEADER = 'x-lectern-proxy-secret';
