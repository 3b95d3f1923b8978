import type { UserRole } from '../domain/user.ts';
import type { LoginAttempt, LoginOutcome } from './provider.ts';

/**
 * Who an identity provider (LDAP, OIDC, SAML, a trusted proxy's header) says logged in, after
 * the provider has checked its proof (a bind, a signed ID token or assertion, a header from
 * an allowed address). Every provider ends in one of these, so one service turns them all
 * into Lectern users the same way.
 * @public (the contract the LDAP, OIDC, SAML and header providers are being built on)
 */
export interface RemoteIdentity {
  /** The configured provider's name (`LoginProvider.name`). */
  provider: string;
  /**
   * The provider's stable, unique id for the person (LDAP DN or its unique attribute, OIDC
   * `sub`, SAML NameID): a Lectern user is linked to it at first login, so a renamed
   * account stays the same user.
   */
  subject: string;
  /** The username the provider's mapping gives (what the person types, or a claim). */
  username: string;
  email?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  /** The person's groups at the identity provider, by name (as the mapping reads them). */
  groups: readonly string[];
  /**
   * A Lectern role the provider states outright (an OIDC role claim, a SAML role attribute,
   * when configured): it wins over the group mapping, at every login.
   */
  role?: UserRole | undefined;
}

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
