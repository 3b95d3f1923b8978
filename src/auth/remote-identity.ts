import type { UserRole } from '../domain/user.ts';
import type { LoginAttempt, LoginOutcome } from './provider.ts';

// Defined in the domain, so the service that provisions accounts (src/services) reads it too.
export type { RemoteIdentity } from '../domain/remote-identity.ts';
import type { RemoteIdentity } from '../domain/remote-identity.ts';

/**
 * Turns a checked remote identity into a Lectern login (implemented once, for every
 * provider): finds the user linked to (provider, subject), or provisions one on first login
 * with the role the mapping gives (an IdP group mapped to administrator or publisher, else
 * the default role); syncs their remote groups (marked remote, so local edits cannot drift);
 * refuses a locked user; throttles, and writes the audit entries.
 * @public (the contract the LDAP, OIDC, SAML and header providers are being built on)
 */
export interface RemoteLogins {
  complete(identity: RemoteIdentity, attempt: LoginAttempt): Promise<LoginOutcome>;
  /**
   * A login the provider refused (bad signature, expired assertion, replayed state, wrong
   * nonce, a username that is an injection attempt): audited as a failure with the reason,
   * answered with a message the login page shows (which never says more than it must).
   */
  refuse(provider: string, reason: string, attempt: LoginAttempt, claimed?: string): Promise<LoginOutcome>;
}

/**
 * A role an IdP group grants (the highest of a person's groups wins), for the mapping.
 * @public (the contract the LDAP, OIDC, SAML and header providers are being built on)
 */
export interface RoleMapping {
  group: string;
  role: UserRole;
}
