import os from 'node:os';
import { z } from 'zod';
import { USER_ROLES } from '../domain/user.ts';

import { ldapSchema, oidcProvider, proxyAuthSchema, remoteProviderCount, samlProvider } from './auth-schema.ts';
import { boolFrom, httpOrFileUrl, httpUrl, intFrom, listFrom } from './schema-values.ts';
import { healthSchema, retentionSchema } from './operations-schema.ts';

const databaseUrl = z
  .string()
  .min(1)
  .refine((u) => /^(sqlite:|postgres(ql)?:\/\/)/i.test(u), {
    message: 'must start with sqlite: (a file path) or postgres:// / postgresql://',
  });

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
        // Processes the content origin's data plane runs in (proxy/workers). 1: the server
        // process serves it itself. More: that many workers share its port, and the server
        // process keeps the counts. Default: one per core.
        workers: intFrom(z.number().int().min(1).max(256)).default(() => os.availableParallelism()),
        // `nginx`: nginx takes the content origin's port and relays to running apps itself,
        // asking Lectern about each request first (proxy/front); `proxy.workers` is then its
        // worker count. For large sites: faster, with counts that are no longer exact.
        front: z.enum(['none', 'nginx']).default('none'),
        nginxPath: z.string().min(1).default('nginx'),
        nginxJsModule: z.string().min(1).default('/usr/lib/nginx/modules/ngx_http_js_module.so'),
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
    retention: retentionSchema,
    health: healthSchema,
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
  LECTERN_PROXY_WORKERS: ['proxy', 'workers'],
  LECTERN_PROXY_FRONT: ['proxy', 'front'],
  LECTERN_NGINX_PATH: ['proxy', 'nginxPath'],
  LECTERN_GIT_POLL_INTERVAL_SECONDS: ['git', 'pollIntervalSeconds'],
  LECTERN_GIT_TIMEOUT_SECONDS: ['git', 'timeoutSeconds'],
  LECTERN_GIT_PROTOCOLS: ['git', 'protocols'],
  LECTERN_METRICS_ENABLED: ['metrics', 'enabled'],
  LECTERN_USAGE_ENABLED: ['usage', 'enabled'],
  LECTERN_USAGE_RETENTION_DAYS: ['usage', 'retentionDays'],
  LECTERN_RETENTION_TASK_LOG_DAYS: ['retention', 'taskLogDays'],
  LECTERN_RETENTION_JOB_LOG_DAYS: ['retention', 'jobLogDays'],
  LECTERN_RETENTION_BUNDLES_PER_ITEM: ['retention', 'bundlesPerItem'],
  LECTERN_RETENTION_TMP_HOURS: ['retention', 'tmpHours'],
  LECTERN_RETENTION_AUDIT_DAYS: ['retention', 'auditDays'],
  LECTERN_HEALTH_MIN_FREE_DISK_PERCENT: ['health', 'minFreeDiskPercent'],
  LECTERN_HEALTH_MIN_FREE_DISK_BYTES: ['health', 'minFreeDiskBytes'],
  LECTERN_METRICS_TOKEN: ['metrics', 'token'],
  LECTERN_METRICS_LISTEN: ['metrics', 'listen'],
};

// Variables in the LECTERN_ namespace that are not settings.
export const ENV_NON_SETTINGS = new Set(['LECTERN_CONFIG']);
export const ENV_IGNORED_PREFIXES = ['LECTERN_TEST_'];
