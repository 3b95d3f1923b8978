import { LoginGate } from './login-gate.ts';
import type { LoginProviderDeps, LoginServices } from './provider-deps.ts';
import { ldapProvider } from './ldap-provider.ts';
import { oidcLogin } from './oidc-login.ts';
import { passwordProvider } from './password-provider.ts';
import type { LoginProvider } from './provider.ts';
import { proxyProvider } from './proxy-provider.ts';
import { createRemoteLogins } from './remote-logins.ts';
import { samlLogin } from './saml-login.ts';

/**
 * The login providers, in the order the login page offers them. Adding one is its file
 * (implementing `LoginProvider`, answering undefined when its configuration is absent) and
 * one line here; a kind configured as a list (OIDC, SAML) gives one provider per entry.
 */
const PROVIDERS: ReadonlyArray<(d: LoginProviderDeps) => LoginProvider | LoginProvider[] | undefined> = [
  passwordProvider,
  ldapProvider,
  proxyProvider,
  (d) => d.config.oidc.map((cfg) => oidcLogin(cfg, d.remote)),
  (d) => d.config.saml.map((cfg) => samlLogin(cfg, d.remote)),
];

export function createLoginProviders(s: LoginServices): LoginProvider[] {
  const gate = new LoginGate(s.throttle, s.audit);
  const d: LoginProviderDeps = { ...s, gate, remote: createRemoteLogins(gate, s.accounts) };
  const providers = PROVIDERS.flatMap((make) => make(d) ?? []);
  const names = new Set(providers.map((p) => p.name));
  if (names.size !== providers.length) throw new Error('Two login providers have the same name.');
  return providers;
}
