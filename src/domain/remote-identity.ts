import type { UserRole } from './user.ts';

/**
 * Who an identity provider (LDAP, OIDC, SAML, a trusted proxy's header) says logged in, after
 * the provider has checked its proof (a bind, a signed ID token or assertion, a header from
 * an allowed address). Every provider ends in one of these, so one service turns them all
 * into Lectern users the same way.
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
