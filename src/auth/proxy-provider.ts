import { timingSafeEqual } from 'node:crypto';
import { PROXY_SECRET_HEADER } from '../domain/proxy-auth.ts';
import { cidrMatcher } from '../domain/cidr.ts';
import type { HeaderLoginProvider } from './provider.ts';
import type { LoginProviderDeps } from './provider-deps.ts';

const PROXY_PROVIDER = 'proxy';

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const v = headers[name.toLowerCase()];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s : undefined;
}

/** The proxy's shared secret, compared in constant time. */
function secretMatches(headers: Readonly<Record<string, string | string[] | undefined>>, secret: Buffer): boolean {
  const given = Buffer.from(header(headers, PROXY_SECRET_HEADER) ?? '', 'utf8');
  return given.length === secret.length && timingSafeEqual(given, secret);
}

/**
 * Proxied authentication (`auth.proxy`, Connect's ProxyAuth): a front proxy has
 * authenticated the request and names the user in a header. Believed only when the
 * connection itself comes from one of `trustedProxies` (the socket's address, never a
 * forwarded one: whoever can reach Lectern directly could write X-Forwarded-For too) and
 * carries the shared secret: content on this host connects from loopback as a local front
 * proxy does, so the address alone would let a publisher's app name an administrator.
 */
export function proxyProvider(d: LoginProviderDeps): HeaderLoginProvider | undefined {
  const c = d.config.proxy;
  if (!c) return undefined;
  const allowed = cidrMatcher(c.trustedProxies);
  const secret = Buffer.from(c.secret, 'utf8');
  const trusted = (headers: Readonly<Record<string, string | string[] | undefined>>, peer: string | undefined) =>
    peer !== undefined && allowed(peer) && secretMatches(headers, secret);
  return {
    name: PROXY_PROVIDER,
    kind: 'header',
    claimed: (headers, attempt) => (trusted(headers, attempt.peer) ? header(headers, c.header) : undefined),
    async login(headers, attempt) {
      const username = header(headers, c.header);
      if (username === undefined || !trusted(headers, attempt.peer)) return undefined;
      const groups = (header(headers, c.groupsHeader) ?? '')
        .split(c.groupsSeparator)
        .map((g) => g.trim())
        .filter(Boolean);
      // The proxy's username is the person's stable id there.
      return d.remote.complete({ provider: PROXY_PROVIDER, subject: username, username, email: header(headers, c.emailHeader), groups }, attempt);
    },
  };
}
