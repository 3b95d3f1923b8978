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

/**
 * Proxied authentication (`auth.proxy`, Connect's ProxyAuth): a front proxy has
 * authenticated the request and names the user in a header. Believed only when the
 * connection itself comes from one of `trustedProxies` (the socket's address, never a
 * forwarded one: whoever can reach Lectern directly could write X-Forwarded-For too).
 */
export function proxyProvider(d: LoginProviderDeps): HeaderLoginProvider | undefined {
  const c = d.config.proxy;
  if (!c) return undefined;
  const trusted = cidrMatcher(c.trustedProxies);
  return {
    name: PROXY_PROVIDER,
    kind: 'header',
    claimed: (headers, attempt) => (trusted(attempt.peer) ? header(headers, c.header) : undefined),
    async login(headers, attempt) {
      const username = header(headers, c.header);
      if (username === undefined || !trusted(attempt.peer)) return undefined;
      const groups = (header(headers, c.groupsHeader) ?? '')
        .split(c.groupsSeparator)
        .map((g) => g.trim())
        .filter(Boolean);
      // The proxy's username is the person's stable id there.
      return d.remote.complete({ provider: PROXY_PROVIDER, subject: username, username, email: header(headers, c.emailHeader), groups }, attempt);
    },
  };
}
