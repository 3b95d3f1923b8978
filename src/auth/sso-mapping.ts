import { USER_ROLES, type UserRole } from '../domain/user.ts';
import type { OidcProviderConfig, SamlProviderConfig } from '../config/schema.ts';
import type { RemoteIdentity } from './remote-identity.ts';

/** Why a mapping found no identity: shown on the login page and audited. */
export class MappingError extends Error {}

/** A claim or attribute's text (the first of a list), or undefined when absent or empty. */
function text(v: unknown): string | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first === 'string') return first.trim() || undefined;
  if (typeof first === 'number') return String(first);
  return undefined;
}

/**
 * Group names from a claim or attribute: a list (each item one name, which may hold spaces), or
 * one string of names separated by commas or spaces. Duplicates and blanks are dropped.
 */
export function groupsFrom(v: unknown): string[] {
  const items = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number') continue;
    const s = String(item).trim();
    const names = Array.isArray(v) ? [s] : s.split(/[,\s]+/);
    for (const n of names) if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

/** A Lectern role named by a claim or attribute (any case), else undefined. */
export function roleFrom(v: unknown): UserRole | undefined {
  const names = groupsFrom(v).map((n) => n.toLowerCase());
  // Several named: the highest wins (USER_ROLES runs from the highest).
  return USER_ROLES.find((r) => names.includes(r));
}

/** An OIDC ID token's (and userinfo's) claims as a remote identity. */
export function identityFromClaims(claims: Record<string, unknown>, cfg: OidcProviderConfig): RemoteIdentity {
  const subject = text(claims.sub);
  if (!subject) throw new MappingError('The identity provider named no subject.');
  const username = text(claims[cfg.usernameClaim]);
  if (!username) throw new MappingError(`The identity provider sent no username (claim "${cfg.usernameClaim}").`);
  return {
    provider: cfg.name,
    subject,
    username,
    email: text(claims[cfg.emailClaim]),
    firstName: text(claims[cfg.firstNameClaim]),
    lastName: text(claims[cfg.lastNameClaim]),
    groups: groupsFrom(claims[cfg.groupsClaim]),
    role: cfg.roleClaim === undefined ? undefined : roleFrom(claims[cfg.roleClaim]),
  };
}

/** Whether the claims hold everything the mapping reads (else userinfo is asked, with `auto`). */
export function claimsComplete(claims: Record<string, unknown>, cfg: OidcProviderConfig): boolean {
  const wanted = [cfg.usernameClaim, cfg.emailClaim, cfg.groupsClaim, ...(cfg.roleClaim ? [cfg.roleClaim] : [])];
  return wanted.every((c) => claims[c] !== undefined);
}

/** What node-saml's profile holds that the mapping reads. */
export interface SamlProfileLike {
  nameID?: string | undefined;
  attributes?: Record<string, unknown> | undefined;
  [key: string]: unknown;
}

/** A checked SAML assertion's NameID and attributes as a remote identity. */
export function identityFromAssertion(profile: SamlProfileLike, cfg: SamlProviderConfig): RemoteIdentity {
  // node-saml puts the attributes both in `attributes` and on the profile itself.
  const attrs = profile.attributes ?? profile;
  const subject = text(profile.nameID);
  if (!subject) throw new MappingError('The assertion has no NameID.');
  const username = cfg.usernameAttribute === undefined ? subject : text(attrs[cfg.usernameAttribute]);
  if (!username) throw new MappingError(`The assertion has no username (attribute "${cfg.usernameAttribute}").`);
  return {
    provider: cfg.name,
    subject,
    username,
    email: text(attrs[cfg.emailAttribute]),
    firstName: text(attrs[cfg.firstNameAttribute]),
    lastName: text(attrs[cfg.lastNameAttribute]),
    groups: groupsFrom(attrs[cfg.groupsAttribute]),
    role: cfg.roleAttribute === undefined ? undefined : roleFrom(attrs[cfg.roleAttribute]),
  };
}
