import { z } from 'zod';
import { isCidr } from '../domain/cidr.ts';
import { boolFrom, httpUrl, intFrom, listFrom } from './schema-values.ts';

// The identity providers' settings (auth.ldap, auth.proxy, auth.oidc, auth.saml), for schema.ts.

// LDAP or Active Directory logins (src/services/ldap/). Passwords are checked by binding as
// the user's entry; the service account (or an anonymous bind) finds the entry and its groups.
export const ldapSchema = z
  .object({
    // ldap://host[:port] or ldaps://host[:port].
    url: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/i, 'must be ldap://host[:port] or ldaps://host[:port]'),
    // Upgrade an ldap:// connection with StartTLS before anything is sent.
    startTls: boolFrom().default(false),
    // PEM file of the CA that signed the directory's certificate (else the system's CAs).
    caFile: z.string().min(1).optional(),
    // The service account that searches; without it, an anonymous bind.
    bindDn: z.string().min(1).optional(),
    bindPassword: z.string().min(1).optional(),
    userBase: z.string().min(1),
    // {username} is replaced by the typed username, escaped (RFC 4515).
    userFilter: z
      .string()
      .refine((f) => f.includes('{username}'), 'must contain {username}')
      .default('(uid={username})'),
    attributes: z
      .object({
        username: z.string().min(1).default('uid'),
        email: z.string().min(1).default('mail'),
        firstName: z.string().min(1).default('givenName'),
        lastName: z.string().min(1).default('sn'),
        // The person's stable id (OpenLDAP entryUUID, AD objectGUID); `dn`: the entry's DN.
        subject: z.string().min(1).default('entryUUID'),
      })
      .strict()
      .prefault({}),
    groups: z
      .object({
        // memberOf: the user entry's memberOf values; member: groups whose memberAttribute
        // holds the user's DN; memberUid: groups whose memberUid holds the username; none.
        style: z.enum(['memberOf', 'member', 'memberUid', 'none']).default('memberOf'),
        // Where groups are searched (member and memberUid styles, and nested groups).
        base: z.string().min(1).optional(),
        filter: z.string().min(1).default('(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group))'),
        memberAttribute: z.string().min(1).default('member'),
        nameAttribute: z.string().min(1).default('cn'),
        // Groups in groups: none; walk (any directory: group searches level by level, bounded);
        // inChain (Active Directory's LDAP_MATCHING_RULE_IN_CHAIN, one search).
        nested: z.enum(['none', 'walk', 'inChain']).default('none'),
        maxDepth: intFrom(z.number().int().min(1).max(20)).default(5),
        maxGroups: intFrom(z.number().int().min(1).max(10_000)).default(500),
      })
      .strict()
      .prefault({}),
    connectTimeoutSeconds: intFrom(z.number().int().min(1).max(120)).default(5),
    timeoutSeconds: intFrom(z.number().int().min(1).max(600)).default(10),
    // Hours between re-reads of the groups of users who logged in with LDAP; 0: at login only.
    groupSyncHours: intFrom(
      z
        .number()
        .int()
        .min(0)
        .max(24 * 30),
    ).default(6),
    // The login page's name for it.
    displayName: z.string().min(1).default('LDAP'),
  })
  .strict()
  .refine((l) => (l.bindDn === undefined) === (l.bindPassword === undefined), {
    message: 'bindDn and bindPassword go together (neither: an anonymous bind)',
    path: ['bindPassword'],
  })
  .refine((l) => !(l.startTls && /^ldaps:/i.test(l.url)), { message: 'startTls is for ldap:// URLs (ldaps:// is TLS already)', path: ['startTls'] })
  .refine((l) => l.groups.base !== undefined || (l.groups.style !== 'member' && l.groups.style !== 'memberUid' && l.groups.nested === 'none'), {
    message: 'the member and memberUid styles and nested groups search groups: set groups.base',
    path: ['groups', 'base'],
  });

// Proxied authentication (Connect's ProxyAuth): a front proxy authenticates and names the user
// in a header. Believed only from a connection whose own address is in trustedProxies AND
// with the shared secret in X-Lectern-Proxy-Secret: an address alone is not enough, because
// content on this host reaches Lectern from loopback too (its sandbox's bridge), and a
// publisher's app could otherwise name any user, an administrator included.
export const proxyAuthSchema = z
  .object({
    // At least 32 characters; set in the front proxy (e.g. nginx `proxy_set_header
    // X-Lectern-Proxy-Secret ...`), never given to content (the relay strips the header).
    secret: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)'),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
      .default('X-Auth-User'),
    trustedProxies: listFrom().pipe(
      z
        .array(z.string().refine(isCidr, 'must be an address or CIDR range, e.g. 127.0.0.1/32 or fd00::/8'))
        .min(1, 'name the front proxy: at least one address or CIDR range'),
    ),
    groupsHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
      .optional(),
    // Groups in groupsHeader are separated by this.
    groupsSeparator: z.string().min(1).max(4).default(','),
    emailHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
      .optional(),
  })
  .strict();

// A login provider's name: part of its addresses (`/__login__/<name>`) and of audit entries.
const providerName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1 to 32 lower-case letters, digits, "-" or "_", starting with a letter or digit');

// A claim or attribute name of the identity provider's.
const claimName = z.string().min(1).max(256);

// OpenID Connect providers (auth.oidc): authorization code with PKCE against the issuer's discovery.
export const oidcProvider = z
  .object({
    name: providerName,
    displayName: z.string().min(1).max(100).optional(),
    // The issuer; its /.well-known/openid-configuration is read at the first login.
    issuer: httpUrl,
    clientId: z.string().min(1),
    // The client secret, from a file (read at start) or an environment variable, never the
    // configuration itself: it must not land in a file others read, nor be logged.
    clientSecretFile: z.string().min(1).optional(),
    clientSecretEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .refine((n) => !n.startsWith('LECTERN_'), 'must not start with LECTERN_ (those are settings)')
      .optional(),
    scopes: listFrom().default(['openid', 'profile', 'email']),
    usernameClaim: claimName.default('preferred_username'),
    emailClaim: claimName.default('email'),
    firstNameClaim: claimName.default('given_name'),
    lastNameClaim: claimName.default('family_name'),
    // A list, or one string of names separated by spaces or commas.
    groupsClaim: claimName.default('groups'),
    // A claim naming a Lectern role (administrator, publisher, viewer), if the IdP sends one.
    roleClaim: claimName.optional(),
    // auto: ask the userinfo endpoint when the ID token lacks a mapped claim.
    userinfo: z.enum(['auto', 'always', 'never']).default('auto'),
    // On Lectern's logout, end the session at the provider too (its end_session_endpoint).
    logout: boolFrom().default(true),
    // Renew the session with the refresh token when the ID token runs out (else it lasts auth.sessionHours).
    refresh: boolFrom().default(true),
    // An http:// issuer (a test provider on loopback); never in production.
    allowInsecureHttp: boolFrom().default(false),
  })
  .strict()
  .refine((p) => (p.clientSecretFile === undefined) !== (p.clientSecretEnv === undefined), {
    message: 'needs exactly one of clientSecretFile and clientSecretEnv',
  })
  // Set by the loader from clientSecretFile or clientSecretEnv.
  .transform((p) => ({ ...p, clientSecret: undefined as string | undefined }));

// SAML 2.0 identity providers (auth.saml): Lectern is the service provider.
export const samlProvider = z
  .object({
    name: providerName,
    displayName: z.string().min(1).max(100).optional(),
    // The IdP's single sign-on address (HTTP-Redirect binding).
    entryPoint: httpUrl,
    // The IdP's signing certificate(s), PEM files (several while it rolls its key over).
    idpCertFile: listFrom().pipe(z.array(z.string().min(1)).min(1, 'needs at least one PEM file')),
    // The IdP's entity id: when set, a response from another issuer is refused.
    idpIssuer: z.string().min(1).optional(),
    // Lectern's entity id (the audience assertions must name). Default: its metadata address.
    spEntityId: z.string().min(1).optional(),
    // Assertions must always be signed; this also requires the whole response signed.
    wantResponseSigned: boolFrom().default(false),
    // How far the IdP's clock may be off from ours.
    acceptedClockSkewMs: intFrom(z.number().int().min(0).max(600_000)).default(60_000),
    // Attribute names; without usernameAttribute the NameID is the username.
    usernameAttribute: claimName.optional(),
    emailAttribute: claimName.default('email'),
    firstNameAttribute: claimName.default('firstName'),
    lastNameAttribute: claimName.default('lastName'),
    groupsAttribute: claimName.default('groups'),
    roleAttribute: claimName.optional(),
    identifierFormat: z.string().min(1).default('urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'),
  })
  .strict();

/** How many identity providers besides Lectern's own passwords are on. */
export function remoteProviderCount(a: { ldap?: unknown; proxy?: unknown; oidc: readonly unknown[]; saml: readonly unknown[] }): number {
  return (a.ldap ? 1 : 0) + (a.proxy ? 1 : 0) + a.oidc.length + a.saml.length;
}
