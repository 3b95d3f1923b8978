import type { UserRole } from './user.ts';

/** An identity provider's group that grants a role (`auth.roleMapping`). */
export interface RoleRule {
  group: string;
  role: UserRole;
  /**
   * The provider whose group it is (`ldap`, `proxy`, an OIDC or SAML entry's name). Needed when
   * several remote providers are on: a group name one of them vouches for must not be
   * claimable through another (a proxy's header, an IdP where people name their own groups).
   */
  provider?: string | undefined;
}

const RANK: Record<UserRole, number> = { viewer: 1, publisher: 2, administrator: 3 };

/** Group names compare as the groups' own names do: ignoring case and how accents are encoded. */
export function groupNameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * The role a person's groups give: the highest of the rules whose group they are in;
 * undefined when no rule matches (then a new user gets `auth.defaultRole` and an existing
 * one keeps the role they have).
 */
export function mappedRole(groups: readonly string[], rules: readonly RoleRule[], provider: string): UserRole | undefined {
  const mine = new Set(groups.map(groupNameKey));
  let best: UserRole | undefined;
  for (const r of rules) {
    if (r.provider !== undefined && r.provider !== provider) continue;
    if (mine.has(groupNameKey(r.group)) && (!best || RANK[r.role] > RANK[best])) best = r.role;
  }
  return best;
}
