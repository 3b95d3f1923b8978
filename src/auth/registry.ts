import { passwordProvider, type PasswordProviderDeps } from './password-provider.ts';
import type { LoginProvider } from './provider.ts';

/** What every provider may use; a provider that needs configuration reads it from here too. */
export type LoginProviderDeps = PasswordProviderDeps;

/**
 * The login providers, in the order the login page offers them. Adding one is its file
 * (implementing `LoginProvider`) and one line here.
 */
const PROVIDERS: ReadonlyArray<(d: LoginProviderDeps) => LoginProvider> = [passwordProvider];

export function createLoginProviders(d: LoginProviderDeps): LoginProvider[] {
  const providers = PROVIDERS.map((make) => make(d));
  const names = new Set(providers.map((p) => p.name));
  if (names.size !== providers.length) throw new Error('Two login providers have the same name.');
  return providers;
}
