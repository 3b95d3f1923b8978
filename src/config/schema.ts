import { z } from 'zod';
import { isCidr } from '../domain/cidr.ts';
import { USER_ROLES } from '../domain/user.ts';

// Environment variables arrive as strings; these accept both the typed value (from a config
// file) and its string spelling (from LECTERN_*), and reject anything else by name.
const intFrom = (schema: z.ZodNumber) => z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), schema);

const boolFrom = () =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off'].includes(s)) return false;
    return v;
  }, z.boolean());

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http:// or https:// URL' })
  // Clients join paths onto it; a trailing slash would give them `//__api__`.
  .transform((u) => u.replace(/\/+$/, ''));

const httpOrFileUrl = z
  .string()
  .url()
  .refine((u) => /^(https?|file):\/\//i.test(u), { message: 'must be an http://, https:// or file:// URL' });

// A list from a config file, or a comma-separated LECTERN_* value.
const listFrom = () =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(z.string().min(1)),
  );

const databaseUrl = z
  .string()
  .min(1)
  .refine((u) => /^(sqlite:|postgres(ql)?:\/\/)/i.test(u), {
    message: 'must start with sqlite: (a file path) or postgres:// / postgresql://',
  });

// LDAP or Active Directory logins (src/services/ldap/). Passwords are checked by binding as
// the user's entry; the service account (or an anonymous bind) finds the entry and its groups.
const ldapSchema = z
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
const proxyAuthSchema = z
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
const oidcProvider = z
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
const samlProvider = z
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
function remoteProviderCount(a: { ldap?: unknown; proxy?: unknown; oidc: readonly unknown[]; saml: readonly unknown[] }): number {
  return (a.ldap ? 1 : 0) + (a.proxy ? 1 : 0) + a.oidc.length + a.saml.length;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    server: z
      .object({
        address: z.string().min(1).default('0.0.0.0'),
        port: intFrom(z.number().int().min(0).max(65535)).default(3939),
        // The URL people and clients use to reach Lectern. Without it, URLs in API answers
        // are built from each request's Host header.
        publicUrl: httpUrl.optional(),
        // Content is served from an origin of its own, so a publisher's scripts cannot act with
        // a viewer's Lectern session: this port on the same host, or contentUrl behind a proxy.
        contentPort: intFrom(z.number().int().min(0).max(65535)).default(3940),
        contentUrl: httpUrl.optional(),
        // Behind nginx or a load balancer, trust X-Forwarded-* from that many hops.
        trustProxy: intFrom(z.number().int().min(0).max(10)).default(0),
        // How long SIGTERM waits for in-flight requests before closing them.
        shutdownGraceSeconds: intFrom(z.number().int().min(0).max(600)).default(20),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        // Default: SQLite in `<dataDir>/lectern.db`.
        url: databaseUrl.optional(),
      })
      .strict()
      .prefault({}),
    secretKey: z
      .string()
      .optional()
      .refine((k) => k === undefined || Buffer.from(k, 'base64').length >= 32, {
        message: 'must be base64 encoding at least 32 bytes (try: openssl rand -base64 32)',
      }),
    auth: z
      .object({
        sessionHours: intFrom(
          z
            .number()
            .int()
            .min(1)
            .max(24 * 90),
        ).default(24 * 7),
        // Failed logins allowed per username and client address before a lockout window.
        maxFailedLogins: intFrom(z.number().int().min(1).max(1000)).default(5),
        failedLoginWindowMinutes: intFrom(
          z
            .number()
            .int()
            .min(1)
            .max(24 * 60),
        ).default(15),
        minPasswordLength: intFrom(z.number().int().min(8).max(256)).default(10),
        // Lectern's own accounts and passwords. Off: the login form is for LDAP alone (or gone),
        // and Lectern's passwords are refused; API keys keep working.
        password: z
          .object({ enabled: boolFrom().default(true) })
          .strict()
          .prefault({}),
        // A user provisioned by an identity provider gets this role unless roleMapping gives one.
        defaultRole: z.enum(USER_ROLES).default('viewer'),
        // An identity provider's first login may take over a local account of the same
        // username. Off: such a login is refused (and audited), never silently linked.
        linkExistingUsers: boolFrom().default(false),
        // An IdP group grants a role; the highest of a person's groups wins, at every login.
        // `provider` (ldap, proxy, an OIDC or SAML entry's name) says whose group it is; it is
        // required when several remote providers are on (see the check below).
        roleMapping: z.array(z.object({ group: z.string().min(1), role: z.enum(USER_ROLES), provider: z.string().min(1).optional() }).strict()).default([]),
        ldap: ldapSchema.optional(),
        proxy: proxyAuthSchema.optional(),
        // Single sign-on: each a login of its own at /__login__/<name> (several at once).
        oidc: z.array(oidcProvider).default([]),
        saml: z.array(samlProvider).default([]),
      })
      .strict()
      // With several remote providers, a rule must say whose group it names: otherwise a group
      // one provider vouches for (the directory's admins) could be claimed through another.
      .refine((a) => remoteProviderCount(a) < 2 || a.roleMapping.every((r) => r.provider !== undefined), {
        message: 'with several identity providers on, each rule needs its provider (ldap, proxy, or an oidc/saml name)',
        path: ['roleMapping'],
      })
      .prefault({}),
    bundles: z
      .object({
        // The R client's own limits: 3 GB and 10,000 files.
        maxBytes: intFrom(z.number().int().min(1024)).default(3 * 1024 ** 3),
        maxFiles: intFrom(z.number().int().min(1)).default(10_000),
      })
      .strict()
      .prefault({}),
    runtime: z
      .object({
        // local: processes on this machine; docker: containers of the engine DOCKER_HOST names;
        // swarm: services of the swarm that engine manages.
        backend: z.enum(['local', 'docker', 'swarm']).default('local'),
        // Where bundle images are pushed for a swarm of several nodes (`registry.example.com:5000`).
        swarmRegistry: z
          .string()
          .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._\/-]+)?$/i, 'must be a registry host[:port][/path]')
          .optional(),
        // Installations content may run with. Empty: discover Debian's /usr/bin/python3 and /usr/bin/R.
        python: listFrom().default([]),
        r: listFrom().default([]),
        quarto: z.string().min(1).optional(),
        pythonIndexUrl: httpOrFileUrl.default('https://pypi.org/simple'),
        rRepository: httpOrFileUrl.default('https://cloud.r-project.org'),
        // Connect's server defaults for environment management; content may override.
        pythonEnvironmentManagement: boolFrom().default(true),
        rEnvironmentManagement: boolFrom().default(true),
        // The unprivileged account content runs as when Lectern runs as root.
        runAs: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a Unix user name')
          .default('nobody'),
        // bubblewrap confines content to its bundle, environment and a private /tmp.
        sandbox: z.enum(['auto', 'bwrap', 'none']).default('auto'),
        // Uids content items run as, one per item (sandboxed, as root): a range no account uses.
        contentUids: z
          .string()
          .regex(/^\d+-\d+$/, 'must be FIRST-LAST, e.g. 1800000000-1899999999')
          .refine((s) => {
            const [a, b] = s.split('-').map(Number) as [number, number];
            return a >= 65536 && b >= a && b < 2 ** 31 - 1;
          }, 'must lie within 65536-2147483646, first <= last')
          .default('1800000000-1899999999'),
        // A sandboxed process's network: its own namespace either way (it cannot reach another
        // item's port or the host's loopback). outbound: the outside through slirp4netns;
        // none: its own loopback only.
        contentNetwork: z.enum(['outbound', 'none']).default('outbound'),
        // Hosts package builds may reach besides the index and repository themselves: where
        // an index keeps its files (PyPI serves them from files.pythonhosted.org).
        packageHosts: listFrom().default(['files.pythonhosted.org']),
        initTimeoutSeconds: intFrom(z.number().int().min(1).max(3600)).default(60),
        renderTimeoutSeconds: intFrom(
          z
            .number()
            .int()
            .min(1)
            .max(24 * 3600),
        ).default(1800),
      })
      .strict()
      .prefault({}),
    // Connect's Server.AllowRuntimeCacheManagement: whether administrators may list and remove
    // runtime caches through the API (`/v1/system/caches/runtime`). Off by default, as in
    // Connect: a removal makes content that used a cache rebuild, and stops what runs from it.
    runtimeCaches: z
      .object({
        allowManagement: boolFrom().default(false),
      })
      .strict()
      .prefault({}),
    // Rendered reports: render history, and the loop that runs schedules and sends mail.
    reports: z
      .object({
        // Finished renders kept per variant; older ones are deleted (the current one never is).
        keepRenderings: intFrom(z.number().int().min(1).max(10_000)).default(20),
        // Renders this server runs at once; more wait their turn.
        maxConcurrentRenders: intFrom(z.number().int().min(1).max(256)).default(2),
        // Seconds between the scheduler's looks at the database for due work.
        tickSeconds: intFrom(z.number().int().min(1).max(300)).default(2),
        // A render whose server has not vouched for it this long is declared dead and retried once.
        leaseSeconds: intFrom(z.number().int().min(10).max(3600)).default(60),
        // On-demand report emails (`POST /variants/{id}/sender`) one user may send per hour.
        onDemandEmailsPerHour: intFrom(z.number().int().min(1).max(10_000)).default(30),
      })
      .strict()
      // Leases are renewed once a tick: a lease of fewer ticks would lapse under a live server
      // whose tick ran late, and its renders would be failed and run twice.
      .refine((r) => r.leaseSeconds >= 3 * r.tickSeconds, {
        message: 'leaseSeconds must be at least 3 × tickSeconds (leases are renewed once a tick)',
        path: ['leaseSeconds'],
      })
      .prefault({}),
    // Connect's scheduler settings: the server defaults for content that leaves a field null,
    // and the ceilings on what publishers may ask for.
    scaling: z
      .object({
        maxProcesses: intFrom(z.number().int().min(1).max(10_000)).default(3),
        minProcesses: intFrom(z.number().int().min(0).max(10_000)).default(0),
        maxConnsPerProcess: intFrom(z.number().int().min(1).max(100_000)).default(20),
        loadFactor: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().min(0).max(1)).default(0.5),
        idleTimeoutSeconds: intFrom(
          z
            .number()
            .int()
            .min(0)
            .max(365 * 24 * 3600),
        ).default(120),
        maxProcessesLimit: intFrom(z.number().int().min(1).max(10_000)).default(20),
        minProcessesLimit: intFrom(z.number().int().min(0).max(10_000)).default(20),
      })
      .strict()
      .prefault({}),
    proxy: z
      .object({
        // Pings to each viewer's WebSocket keep idle load balancers from cutting quiet Shiny
        // sessions, and find viewers that vanished. 0: no pings.
        websocketPingSeconds: intFrom(z.number().int().min(0).max(3600)).default(30),
        // A page load waiting this long for an app to start gets a page that retries instead.
        startingPageAfterMs: intFrom(z.number().int().min(0).max(600_000)).default(1500),
      })
      .strict()
      .prefault({}),
    // Git-backed content: where the scheduler looks for new commits, and how git is run.
    git: z
      .object({
        // Connect's default: each polled repository is looked at every 15 minutes (at the
        // scheduler's next tick after that: reports.tickSeconds).
        pollIntervalSeconds: intFrom(
          z
            .number()
            .int()
            .min(1)
            .max(7 * 24 * 3600),
        ).default(900),
        // Every git command (ls-remote, fetch, archive) is killed after this long.
        timeoutSeconds: intFrom(z.number().int().min(1).max(3600)).default(300),
        // GIT_ALLOW_PROTOCOL: the transports a repository URL may use. file and ext never.
        protocols: listFrom()
          .pipe(z.array(z.enum(['https', 'http', 'ssh', 'git'])).min(1))
          .default(['https', 'http', 'ssh', 'git']),
      })
      .strict()
      .prefault({}),
    // Prometheus metrics, off by default. Either `enabled` with a `token` (served at /metrics on
    // Lectern's port, to `Authorization: Bearer <token>` only), or `listen`: an address of its
    // own (`127.0.0.1:9464`) served without a token, for a scraper on a network you trust.
    metrics: z
      .object({
        enabled: boolFrom().default(false),
        token: z.string().min(16, 'must be at least 16 characters (try: openssl rand -hex 24)').optional(),
        listen: z
          .string()
          .regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i, 'must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464')
          .optional(),
      })
      .strict()
      // Lectern's port is open to whoever reaches Lectern: metrics there need the token.
      .refine((m) => !m.enabled || m.token !== undefined, {
        message: 'metrics.enabled needs metrics.token (or serve them on an address of their own with metrics.listen)',
        path: ['token'],
      })
      .prefault({}),
    // Usage instrumentation (connect-api-next.md §7): visits, Shiny sessions and hits recorded
    // by the proxy, written in batches off the request path.
    usage: z
      .object({
        // Connect's Metrics.Instrumentation: on unless the administrator turns it off.
        enabled: boolFrom().default(true),
        // Days of usage kept; older rows go in the daily prune. 0 keeps everything (Connect's
        // way). A year by default: the hits are every request to content, so an unbounded
        // table is a slow leak, and a year still answers "this month against last year's".
        retentionDays: intFrom(
          z
            .number()
            .int()
            .min(0)
            .max(100 * 365),
        ).default(365),
        // A batch is written once this many rows wait, or a second after the first of them.
        flushRows: intFrom(z.number().int().min(1).max(10_000)).default(500),
        // Rows held in memory at most while the database is slow; beyond it they are dropped
        // (and counted in the log) rather than growing the server without end.
        maxBufferedRows: intFrom(z.number().int().min(1).max(10_000_000)).default(50_000),
      })
      .strict()
      .prefault({}),
    // Set by the loader to the file it read, so content sandboxes can hide it.
    configFile: z.string().optional(),
    // Set by the loader: proxy and certificate variables package installers need.
    networkEnv: z.record(z.string(), z.string()).optional(),
    logging: z
      .object({
        level: z.enum(LOG_LEVELS).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type OidcProviderConfig = Config['auth']['oidc'][number];
export type SamlProviderConfig = Config['auth']['saml'][number];

// Every setting an environment variable can set. Explicit, so that a typo such as
// LECTERN_SEVER_PORT is reported instead of silently ignored.
export const ENV_VARS: Record<string, readonly string[]> = {
  LECTERN_DATA_DIR: ['dataDir'],
  LECTERN_ADDRESS: ['server', 'address'],
  LECTERN_PORT: ['server', 'port'],
  LECTERN_PUBLIC_URL: ['server', 'publicUrl'],
  LECTERN_CONTENT_PORT: ['server', 'contentPort'],
  LECTERN_CONTENT_URL: ['server', 'contentUrl'],
  LECTERN_TRUST_PROXY: ['server', 'trustProxy'],
  LECTERN_SHUTDOWN_GRACE_SECONDS: ['server', 'shutdownGraceSeconds'],
  LECTERN_DATABASE_URL: ['database', 'url'],
  LECTERN_SECRET_KEY: ['secretKey'],
  LECTERN_SESSION_HOURS: ['auth', 'sessionHours'],
  LECTERN_MAX_FAILED_LOGINS: ['auth', 'maxFailedLogins'],
  LECTERN_FAILED_LOGIN_WINDOW_MINUTES: ['auth', 'failedLoginWindowMinutes'],
  LECTERN_MIN_PASSWORD_LENGTH: ['auth', 'minPasswordLength'],
  LECTERN_PASSWORD_LOGINS: ['auth', 'password', 'enabled'],
  LECTERN_DEFAULT_ROLE: ['auth', 'defaultRole'],
  LECTERN_LINK_EXISTING_USERS: ['auth', 'linkExistingUsers'],
  LECTERN_LDAP_BIND_PASSWORD: ['auth', 'ldap', 'bindPassword'],
  LECTERN_PROXY_AUTH_SECRET: ['auth', 'proxy', 'secret'],
  LECTERN_LOG_LEVEL: ['logging', 'level'],
  LECTERN_BUNDLE_MAX_BYTES: ['bundles', 'maxBytes'],
  LECTERN_BUNDLE_MAX_FILES: ['bundles', 'maxFiles'],
  LECTERN_RUNTIME_BACKEND: ['runtime', 'backend'],
  LECTERN_SWARM_REGISTRY: ['runtime', 'swarmRegistry'],
  LECTERN_PYTHON: ['runtime', 'python'],
  LECTERN_R: ['runtime', 'r'],
  LECTERN_QUARTO: ['runtime', 'quarto'],
  LECTERN_PYTHON_INDEX_URL: ['runtime', 'pythonIndexUrl'],
  LECTERN_R_REPOSITORY: ['runtime', 'rRepository'],
  LECTERN_PYTHON_ENVIRONMENT_MANAGEMENT: ['runtime', 'pythonEnvironmentManagement'],
  LECTERN_R_ENVIRONMENT_MANAGEMENT: ['runtime', 'rEnvironmentManagement'],
  LECTERN_RUN_AS: ['runtime', 'runAs'],
  LECTERN_CONTENT_UIDS: ['runtime', 'contentUids'],
  LECTERN_CONTENT_NETWORK: ['runtime', 'contentNetwork'],
  LECTERN_PACKAGE_HOSTS: ['runtime', 'packageHosts'],
  LECTERN_SANDBOX: ['runtime', 'sandbox'],
  LECTERN_INIT_TIMEOUT_SECONDS: ['runtime', 'initTimeoutSeconds'],
  LECTERN_RENDER_TIMEOUT_SECONDS: ['runtime', 'renderTimeoutSeconds'],
  LECTERN_MAX_PROCESSES: ['scaling', 'maxProcesses'],
  LECTERN_MIN_PROCESSES: ['scaling', 'minProcesses'],
  LECTERN_MAX_CONNS_PER_PROCESS: ['scaling', 'maxConnsPerProcess'],
  LECTERN_LOAD_FACTOR: ['scaling', 'loadFactor'],
  LECTERN_IDLE_TIMEOUT_SECONDS: ['scaling', 'idleTimeoutSeconds'],
  LECTERN_MAX_PROCESSES_LIMIT: ['scaling', 'maxProcessesLimit'],
  LECTERN_MIN_PROCESSES_LIMIT: ['scaling', 'minProcessesLimit'],
  LECTERN_RUNTIME_CACHE_MANAGEMENT: ['runtimeCaches', 'allowManagement'],
  LECTERN_KEEP_RENDERINGS: ['reports', 'keepRenderings'],
  LECTERN_MAX_CONCURRENT_RENDERS: ['reports', 'maxConcurrentRenders'],
  LECTERN_SCHEDULER_TICK_SECONDS: ['reports', 'tickSeconds'],
  LECTERN_RENDER_LEASE_SECONDS: ['reports', 'leaseSeconds'],
  LECTERN_REPORT_EMAILS_PER_HOUR: ['reports', 'onDemandEmailsPerHour'],
  LECTERN_WEBSOCKET_PING_SECONDS: ['proxy', 'websocketPingSeconds'],
  LECTERN_STARTING_PAGE_AFTER_MS: ['proxy', 'startingPageAfterMs'],
  LECTERN_GIT_POLL_INTERVAL_SECONDS: ['git', 'pollIntervalSeconds'],
  LECTERN_GIT_TIMEOUT_SECONDS: ['git', 'timeoutSeconds'],
  LECTERN_GIT_PROTOCOLS: ['git', 'protocols'],
  LECTERN_METRICS_ENABLED: ['metrics', 'enabled'],
  LECTERN_USAGE_ENABLED: ['usage', 'enabled'],
  LECTERN_USAGE_RETENTION_DAYS: ['usage', 'retentionDays'],
  LECTERN_METRICS_TOKEN: ['metrics', 'token'],
  LECTERN_METRICS_LISTEN: ['metrics', 'listen'],
};

// Variables in the LECTERN_ namespace that are not settings.
export const ENV_NON_SETTINGS = new Set(['LECTERN_CONFIG']);
export const ENV_IGNORED_PREFIXES = ['LECTERN_TEST_'];
