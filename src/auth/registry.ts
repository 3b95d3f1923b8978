import type { Config } from '../config/index.ts';
import type { Logger } from '../logging/logger.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { LoginThrottle } from '../services/login-throttle.ts';
import type { RemoteAccounts } from '../services/remote-accounts.ts';
import type { UserService } from '../services/user-service.ts';
import { LoginGate } from './login-gate.ts';
import { ldapProvider } from './ldap-provider.ts';
import { passwordProvider } from './password-provider.ts';
import type { LoginProvider } from './provider.ts';
import { proxyProvider } from './proxy-provider.ts';
import { createRemoteLogins } from './remote-logins.ts';
import type { RemoteLogins } from './remote-identity.ts';

/** What the composition root gives the providers. */
export interface LoginServices {
  users: UserService;
  throttle: LoginThrottle;
  audit: AuditLog;
  accounts: RemoteAccounts;
  config: Config['auth'];
  logger: Logger;
}

/** What every provider may use; a provider that needs configuration reads it from `config`. */
export interface LoginProviderDeps extends LoginServices {
  /** Throttle, check, audit: what every login goes through. */
  gate: LoginGate;
  /** Where a remote identity (a redirect's, a header's) becomes a Lectern login. */
  remote: RemoteLogins;
}

/**
 * The login providers, in the order the login page offers them. Adding one is its file
 * (implementing `LoginProvider`, answering undefined when its configuration is absent) and
 * one line here.
 */
const PROVIDERS: ReadonlyArray<(d: LoginProviderDeps) => LoginProvider | undefined> = [passwordProvider, ldapProvider, proxyProvider];

export function createLoginProviders(s: LoginServices): LoginProvider[] {
  const gate = new LoginGate(s.throttle, s.audit);
  const d: LoginProviderDeps = { ...s, gate, remote: createRemoteLogins(gate, s.accounts) };
  const providers = PROVIDERS.map((make) => make(d)).filter((p): p is LoginProvider => p !== undefined);
  const names = new Set(providers.map((p) => p.name));
  if (names.size !== providers.length) throw new Error('Two login providers have the same name.');
  return providers;
}
