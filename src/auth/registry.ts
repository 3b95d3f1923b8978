import type { Config } from '../config/schema.ts';
import { oidcLogin } from './oidc-login.ts';
import { passwordProvider, type PasswordProviderDeps } from './password-provider.ts';
import type { LoginProvider } from './provider.ts';
import type { RemoteLogins } from './remote-identity.ts';
import { samlLogin } from './saml-login.ts';

/** What every provider may use; a provider that needs configuration reads it from here too. */
export interface LoginProviderDeps extends PasswordProviderDeps {
  /** `auth` of the configuration: each single sign-on provider's settings. */
  auth: Config['auth'];
  /** Turns a checked remote identity into a Lectern login (every provider but the password). */
  remote: RemoteLogins;
}

/**
 * The login providers, in the order the login page offers them. Adding one is its file
 * (implementing `LoginProvider`) and one line here; a kind configured as a list gives one
 * provider per entry.
 */
const PROVIDERS: ReadonlyArray<(d: LoginProviderDeps) => LoginProvider | LoginProvider[]> = [
  passwordProvider,
  (d) => d.auth.oidc.map((cfg) => oidcLogin(cfg, d.remote)),
  (d) => d.auth.saml.map((cfg) => samlLogin(cfg, d.remote)),
];

export function createLoginProviders(d: LoginProviderDeps): LoginProvider[] {
  const providers = PROVIDERS.flatMap((make) => make(d));
  const names = new Set(providers.map((p) => p.name));
  if (names.size !== providers.length) throw new Error('Two login providers have the same name.');
  return providers;
}
