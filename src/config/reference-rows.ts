/**
 * What each setting means, in the order README.md lists them: the configuration reference's
 * words (src/config/reference.ts takes the settings, defaults and variables from the schema).
 * `variable` and `default` are given only where the schema's own would say less (a computed
 * default, a setting required when its section is present, a variable that sets part of a row).
 * A setting the schema gains needs a row here: the reference test fails until it has one.
 */
export interface ReferenceRow {
  /** Paths in the schema (`auth.ldap.startTls`); `x.*` for a whole section, `auth.oidc` for a list's fields. */
  settings: string[];
  variable?: string;
  default?: string;
  meaning: string;
}

export const REFERENCE_ROWS: ReferenceRow[] = [
  {
    settings: ['dataDir'],
    meaning: 'database file, secret key, bundles',
  },
  {
    settings: ['server.address'],
    meaning: 'listen address',
  },
  {
    settings: ['server.port'],
    meaning: 'listen port (`0`: any free port)',
  },
  {
    settings: ['server.publicUrl'],
    default: "from each request's Host",
    meaning:
      'the URL people use; `https://` turns on Secure cookies and HSTS. Set it in production: then no Host header goes into redirects, API URLs or the `X-Forwarded-Host` apps get',
  },
  {
    settings: ['server.contentPort'],
    meaning: "the content origin's port",
  },
  {
    settings: ['server.contentUrl'],
    default: "publicUrl's (else the request's) host, `contentPort`",
    meaning: "the content origin's public URL; only Lectern's own pages may frame it (`frame-ancestors`)",
  },
  {
    settings: ['server.trustProxy'],
    meaning:
      'proxy hops whose `X-Forwarded-*` headers to trust; with `0`, the first request carrying `X-Forwarded-For` gets a warning in the log (behind an untrusted proxy every user shares its address, and its login throttle)',
  },
  {
    settings: ['server.shutdownGraceSeconds'],
    meaning: 'how long SIGTERM waits for in-flight requests',
  },
  {
    settings: ['database.url'],
    default: '`sqlite:<dataDir>/lectern.db`',
    meaning: '`sqlite:<path>` or `postgres://user:pw@host/db`',
  },
  {
    settings: ['secretKey'],
    default: 'generated in `<dataDir>/secret.key`',
    meaning: 'base64, at least 32 bytes; signs sessions, encrypts content variables',
  },
  {
    settings: ['auth.sessionHours'],
    meaning: 'browser session lifetime',
  },
  {
    settings: ['auth.maxFailedLogins'],
    meaning: 'failed logins per user and address before a lockout window (each try counts before its password is checked, so parallel guesses get no more)',
  },
  {
    settings: ['auth.failedLoginWindowMinutes'],
    meaning: 'that window',
  },
  {
    settings: ['auth.minPasswordLength'],
    meaning: 'the shortest password Lectern accepts for its own accounts',
  },
  {
    settings: ['auth.password.enabled'],
    meaning: "Lectern's own passwords; `false`: refused (the form stays for LDAP when it is on, else it goes); API keys keep working",
  },
  {
    settings: ['auth.defaultRole'],
    meaning: 'the role of a user an identity provider provisions when `auth.roleMapping` gives none',
  },
  {
    settings: ['auth.linkExistingUsers'],
    meaning: "an identity provider's first login may take over a local account of the same username; `false`: refused and audited",
  },
  {
    settings: ['auth.roleMapping'],
    meaning:
      "list of `{group, role, provider}`: an IdP group grants a role; the highest wins, at every login and in the LDAP sync (none matching: `defaultRole`, so leaving the admins' group at the IdP ends the role here; a provider no rule applies to leaves an existing user's role as an administrator set it). `provider` (`ldap`, `proxy`, an OIDC or SAML entry's name) is required when several identity providers are on, so one provider's group name cannot be claimed through another; a remote group is likewise only ever joined through the provider that made it",
  },
  {
    settings: ['auth.ldap.url'],
    default: 'none: no LDAP',
    meaning: '`ldap://host[:port]` or `ldaps://host[:port]`; setting `auth.ldap` turns LDAP logins on (see Logins)',
  },
  {
    settings: ['auth.ldap.startTls', 'auth.ldap.caFile'],
    default: '`false`, system CAs',
    meaning: "StartTLS on `ldap://`; the PEM CA the directory's certificate must chain to",
  },
  {
    settings: ['auth.ldap.bindDn', 'auth.ldap.bindPassword'],
    variable: '`LECTERN_LDAP_BIND_PASSWORD` (the password)',
    default: 'anonymous bind',
    meaning: 'the service account that searches; the password is never logged',
  },
  {
    settings: ['auth.ldap.userBase', 'auth.ldap.userFilter'],
    default: '(required), `(uid={username})`',
    meaning: 'where and how users are found; `{username}` is escaped (RFC 4515)',
  },
  {
    settings: ['auth.ldap.attributes.*'],
    default: '`uid`, `mail`, `givenName`, `sn`, `entryUUID`',
    meaning: '`username`, `email`, `firstName`, `lastName`, `subject` (the stable id; `dn` for the DN, `objectGUID` on AD)',
  },
  {
    settings: ['auth.ldap.groups.*'],
    default: '`memberOf`, nested `none`',
    meaning:
      "`style` (`memberOf`, `member`, `memberUid`, `none`), `base`, `filter`, `memberAttribute`, `nameAttribute` (`cn`), `nested` (`none`, `walk`: level by level on any directory, `inChain`: AD's `1.2.840.113556.1.4.1941`), `maxDepth` (5), `maxGroups` (500)",
  },
  {
    settings: ['auth.ldap.connectTimeoutSeconds', 'auth.ldap.timeoutSeconds'],
    meaning: 'bounds on connecting and on each operation',
  },
  {
    settings: ['auth.ldap.groupSyncHours'],
    meaning: "hours between re-reads of LDAP users' groups by the scheduler; `0`: at login only",
  },
  {
    settings: ['auth.ldap.displayName'],
    meaning: "the login page's name for LDAP logins",
  },
  {
    settings: ['auth.proxy.header', 'auth.proxy.trustedProxies'],
    default: '`X-Auth-User`, (required)',
    meaning: 'proxied authentication: the header a front proxy names the user in, believed only from a connection whose own address is in these CIDR ranges',
  },
  {
    settings: ['auth.proxy.secret'],
    default: '(required)',
    meaning:
      'at least 32 characters the front proxy sends in `X-Lectern-Proxy-Secret`: the header is believed only with it, because content on this host connects from loopback too; never relayed to content',
  },
  {
    settings: ['auth.proxy.groupsHeader', 'auth.proxy.groupsSeparator', 'auth.proxy.emailHeader'],
    meaning: "the user's groups and email from the proxy",
  },
  {
    settings: ['auth.oidc'],
    meaning:
      'OpenID Connect providers, a list: each `name` (its addresses are `/__login__/<name>`, `/callback`), `displayName`, `issuer` (discovery), `clientId`, the secret from `clientSecretFile` or `clientSecretEnv` (a variable not starting `LECTERN_`; never in the file), `scopes` (`openid profile email`), claims `usernameClaim` (`preferred_username`), `emailClaim`, `firstNameClaim`, `lastNameClaim`, `groupsClaim` (`groups`: a list or a space/comma string), `roleClaim` (optional), `userinfo` (`auto`: asked when the ID token lacks a mapped claim; `always`, `never`), `logout` (`true`: RP-initiated logout; register `<Lectern>/login` as its post-logout address), `refresh` (`true`), `allowInsecureHttp` (`false`; tests only). Register `<Lectern>/__login__/<name>/callback` as the redirect URI',
  },
  {
    settings: ['auth.saml'],
    meaning:
      "SAML 2.0 identity providers, a list: each `name`, `displayName`, `entryPoint` (the IdP's SSO address, HTTP-Redirect), `idpCertFile` (PEM files), `idpIssuer` (optional: refuse other issuers), `spEntityId` (default `<Lectern>/__login__/<name>/metadata`, where the SP metadata is served), `wantResponseSigned` (`false`; assertions must always be signed), `acceptedClockSkewMs` (`60000`), attributes `usernameAttribute` (default: the NameID), `emailAttribute` (`email`), `firstNameAttribute`, `lastNameAttribute`, `groupsAttribute` (`groups`, multi-valued), `roleAttribute` (optional), `identifierFormat`. The ACS is `<Lectern>/__login__/<name>/callback` (HTTP-POST)",
  },
  {
    settings: ['usage.enabled'],
    meaning: "usage instrumentation (Connect's `Metrics.Instrumentation`): visits, hits and Shiny sessions for the `/v1/instrumentation/...` API",
  },
  {
    settings: ['usage.retentionDays'],
    meaning: "days of usage kept; older rows go in the daily prune; `0` keeps everything (Connect's way)",
  },
  {
    settings: ['usage.flushRows', 'usage.maxBufferedRows'],
    meaning:
      'a batch is written once this many rows wait (or a second after the first); at most this many are held while the database is slow, more are dropped and counted in the log',
  },
  {
    settings: ['logging.level'],
    meaning: '`fatal` … `trace`, `silent`',
  },
  {
    settings: ['bundles.maxBytes'],
    default: '`3221225472` (3 GB)',
    meaning: 'largest bundle, compressed or extracted',
  },
  {
    settings: ['bundles.maxFiles'],
    meaning: 'most files in a bundle',
  },
  {
    settings: ['runtime.backend'],
    meaning: '`local` (processes on this host), `docker` (containers) or `swarm` (Swarm services); see Containers',
  },
  {
    settings: ['runtime.swarmRegistry'],
    meaning: '`host[:port]` bundle images are pushed to before services use them',
  },
  {
    settings: ['runtime.python'],
    default: '`/usr/bin/python3`',
    meaning: "Python installations, comma-separated; the nearest to a bundle's version is used",
  },
  {
    settings: ['runtime.r'],
    default: '`/usr/bin/R`',
    meaning: 'R installations, likewise',
  },
  {
    settings: ['runtime.quarto'],
    meaning: 'the `quarto` binary; Quarto content needs it',
  },
  {
    settings: ['runtime.pythonIndexUrl'],
    meaning: 'where Python requirements are installed from',
  },
  {
    settings: ['runtime.rRepository'],
    meaning: 'where missing R packages are installed from',
  },
  {
    settings: ['runtime.pythonEnvironmentManagement'],
    meaning: "off: content uses the interpreter's packages as they are (content and bundle may override)",
  },
  {
    settings: ['runtime.rEnvironmentManagement'],
    meaning: 'likewise for R',
  },
  {
    settings: ['runtime.runAs'],
    meaning:
      'an unprivileged account that must exist; as root with bubblewrap, content and its package builds run as a uid of their own per item instead (`runtime.contentUids`)',
  },
  {
    settings: ['runtime.sandbox'],
    meaning: '`bwrap` (bubblewrap), `none`, or `auto`: bwrap when installed',
  },
  {
    settings: ['runtime.contentUids'],
    meaning:
      'uids content runs as when Lectern runs as root: one per content item, never reused (no account, and no other Lectern server on the host, may use this range)',
  },
  {
    settings: ['runtime.packageHosts'],
    meaning:
      "hosts package builds may reach besides the index and repository themselves (comma-separated, `host` or `host:port`); builds reach them only through Lectern's package proxy",
  },
  {
    settings: ['runtime.contentNetwork'],
    meaning:
      "each sandboxed process has a network namespace of its own (no other item's port, no host loopback); `outbound`: with a link to the outside (slirp4netns), `none`: without",
  },
  {
    settings: ['runtime.initTimeoutSeconds'],
    meaning: 'how long an app may take to answer HTTP (per content: `init_timeout`)',
  },
  {
    settings: ['runtime.renderTimeoutSeconds'],
    meaning: 'how long a render may take',
  },
  {
    settings: ['runtimeCaches.allowManagement'],
    meaning:
      "Connect's `Server.AllowRuntimeCacheManagement`: administrators may list and remove runtime caches (`/v1/system/caches/runtime`); off, both answer 403 with code 194",
  },
  {
    settings: ['reports.keepRenderings'],
    meaning: 'finished renders kept per report variant (the current one always)',
  },
  {
    settings: ['reports.maxConcurrentRenders'],
    meaning: 'renders this server runs at once; the rest queue',
  },
  {
    settings: ['reports.tickSeconds'],
    meaning: 'how often the scheduler looks for due schedules and mail',
  },
  {
    settings: ['reports.leaseSeconds'],
    meaning: 'a render whose server has not vouched for it this long is failed and, if scheduled, retried once; at least 3 × `tickSeconds`',
  },
  {
    settings: ['reports.onDemandEmailsPerHour'],
    meaning:
      'on-demand report emails (`POST /variants/{id}/sender`) one user may send per hour, counted per server; more get 429 (code 277) with `Retry-After`',
  },
  {
    settings: ['scaling.maxProcesses'],
    meaning: 'processes per content item (per content: `max_processes`)',
  },
  {
    settings: ['scaling.minProcesses'],
    meaning: 'processes kept running however idle (per content: `min_processes`)',
  },
  {
    settings: ['scaling.maxConnsPerProcess'],
    meaning: 'connections one process takes (per content: `max_conns_per_process`)',
  },
  {
    settings: ['scaling.loadFactor'],
    meaning: 'how full processes get before another starts (per content: `load_factor`)',
  },
  {
    settings: ['scaling.idleTimeoutSeconds'],
    meaning: 'how long an idle process lives (per content: `idle_timeout`)',
  },
  {
    settings: ['scaling.maxProcessesLimit'],
    meaning: 'the most `max_processes` a publisher may ask for',
  },
  {
    settings: ['scaling.minProcessesLimit'],
    meaning: 'the most `min_processes` a publisher may ask for',
  },
  {
    settings: ['proxy.websocketPingSeconds'],
    meaning: "pings to viewers' WebSockets (idle load balancers); 0: none",
  },
  {
    settings: ['proxy.startingPageAfterMs'],
    meaning: 'a page load waiting this long for a cold start gets a page that retries',
  },
  {
    settings: ['proxy.workers'],
    default: 'one per core',
    meaning:
      "processes the content origin (`server.contentPort`) is served by: with more than 1, that many workers share its port and relay to apps, and the server process keeps the process counts, sticky choices and cold starts for them; 1: the server process serves it itself. Lectern's own port serves content to API-key callers in the server process: give high-volume API consumers the content origin's address. Each worker has a database pool of its own (up to 10 PostgreSQL connections): allow 10 × (workers + 1) and one more for the usage writer in `max_connections`",
  },
  {
    settings: ['proxy.front'],
    meaning:
      "`nginx`: nginx (Debian's nginx-light and libnginx-mod-http-js) takes the content origin's port, with `proxy.workers` worker processes. It asks Lectern about every request (the full access check) and relays requests for running processes to them itself; WebSockets, cold starts, static content, renders, logins and refusals go to Lectern. Faster on many cores, but what Lectern counts becomes approximate: HTTP requests nginx relays do not count towards `max_conns_per_process`, do not start more processes, and are noted in usage (hits, and visits for pages and APIs) when allowed, whatever their answer; they are not in the request metrics. WebSocket sessions stay exact",
  },
  {
    settings: ['proxy.nginxPath', 'proxy.nginxJsModule'],
    meaning: 'the nginx binary, and its JavaScript module, that `proxy.front: nginx` runs',
  },
  {
    settings: ['git.pollIntervalSeconds'],
    meaning: "how often git-backed content with `polling` on is looked at (`git ls-remote`), at the scheduler's next tick after that",
  },
  {
    settings: ['git.timeoutSeconds'],
    meaning: 'every git command (ls-remote, fetch, archive) is killed after this long',
  },
  {
    settings: ['git.protocols'],
    meaning: "the transports a repository URL may use (git's `GIT_ALLOW_PROTOCOL`); `file` and `ext` never",
  },
  {
    settings: ['metrics.enabled'],
    meaning: "Prometheus metrics at `/metrics` on Lectern's port, to `Authorization: Bearer <metrics.token>` only",
  },
  {
    settings: ['metrics.token'],
    meaning: 'the bearer token `metrics.enabled` requires (16 characters or more)',
  },
  {
    settings: ['metrics.listen'],
    meaning: 'or `/metrics` on an address of its own (`127.0.0.1:9464`), without a token: keep it on loopback or a private network',
  },
  {
    settings: ['retention.taskLogDays'],
    meaning:
      "days a finished deploy or render task's log (its output lines) is kept after it ended; `0`: all. A running task's never goes, and one a client read to the end goes a day after its end anyway",
  },
  {
    settings: ['retention.jobLogDays'],
    meaning: "days a process's or render's job record and log (`<dataDir>/jobs`) are kept after it ended; `0`: all. A running job's never go",
  },
  {
    settings: ['retention.bundlesPerItem'],
    meaning:
      "bundles kept per content item, the newest; older ones are deleted with their files, as a `DELETE` would (audited). Never the active bundle, one a rendering in the report's history or a running deploy uses, or one uploaded in the last day. `0`, as Connect's `BundleRetentionLimit`: keep every bundle, since a rollback may want any of them",
    default: '`0` (all)',
  },
  {
    settings: ['retention.tmpHours'],
    meaning:
      'hours after their last write that uploads left in `<dataDir>/tmp` (and half-extracted bundles) are removed; at least `1`. An upload in progress is written to until it ends',
  },
  {
    settings: ['retention.auditDays'],
    meaning: 'days audit entries are kept; `0`: all, as Connect keeps its audit log. A prune that removes entries records so in the audit log',
    default: '`0` (all)',
  },
  {
    settings: ['health.minFreeDiskPercent'],
    meaning: "`/__health__` (and the status page) warn when the data directory's file system has less free, in percent; `0`: no such check",
  },
  { settings: ['health.minFreeDiskBytes'], meaning: 'likewise in bytes; `0`: no such check', default: '`2147483648` (2 GiB)' },
];
