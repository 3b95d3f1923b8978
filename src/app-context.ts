import type { Config } from './config/index.ts';
import { openCore, type CoreContext } from './core-context.ts';
import { pingDatabase } from './db/connect.ts';
import type { Logger } from './logging/logger.ts';
import { LoginThrottle } from './services/login-throttle.ts';
import { BundleStore } from './services/bundles/bundle-store.ts';
import { AccessPolicy } from './services/access-policy.ts';
import { BundleService } from './services/bundles/bundle-service.ts';
import { ContentPermissions } from './services/content-permissions.ts';
import { ContentFiles } from './services/content-files.ts';
import { ContentService } from './services/content-service.ts';
import { ContentLifecycle } from './services/content-lifecycle.ts';
import { DeployService } from './services/deploy-service.ts';
import { VariableService } from './services/variable-service.ts';
import { GroupService } from './services/group-service.ts';
import { SecretBox } from './services/secret-box.ts';
import { VanityService } from './services/vanity-service.ts';
import { TagService } from './services/tag-service.ts';
import { ThumbnailService } from './services/thumbnail-service.ts';
import { TaskService } from './services/tasks/task-service.ts';
import { PackageService } from './services/package-service.ts';
import { RuntimeCacheService } from './services/runtime-cache-service.ts';
import type { AppModeKinds } from './domain/app-modes.ts';
import { NO_CONTENT_EVENTS, type ContentEvents } from './domain/deploy.ts';
import { createBundleBuilder } from '../runtimes/bundle-builder.ts';
import { createBundleValidator } from '../runtimes/bundle-validator.ts';
import { createRuntime, type Runtime } from '../runtimes/create-runtime.ts';
import { ProcessVariableService } from './services/process-variable-service.ts';
import { ContentSearchRepo } from './repositories/content-search-repo.ts';
import { RecentViewRepo } from './repositories/recent-view-repo.ts';
import { ContentSearchService } from './services/content-search-service.ts';
import { UsageService } from './services/usage/usage-service.ts';
import type { ReportServices } from './services/reports/index.ts';
import { RenderService } from './services/reports/render-service.ts';
import { ScheduleService } from './services/reports/schedule-service.ts';
import { SubscriptionService } from './services/reports/subscription-service.ts';
import { VariantService } from './services/reports/variant-service.ts';
import { serverIdentity } from './services/reports/server-identity.ts';
import { ReportMailer } from './services/reports/report-mailer.ts';
import { ReportRecipients } from './services/reports/report-recipients.ts';
import { GitLocationRepo } from './repositories/git-location-repo.ts';
import { IdentityRepo } from './repositories/identity-repo.ts';
import { RemoteAccounts } from './services/remote-accounts.ts';
import { LdapDirectory } from './services/ldap/ldap-directory.ts';
import { LdapGroupSync } from './services/ldap/ldap-group-sync.ts';
import { createGitServices, type GitServices } from './services/git/index.ts';
import { createRetention } from './services/retention/index.ts';
import type { DailyPrune } from './services/retention/daily-prune.ts';
import { TimedWorkRepo } from './repositories/timed-work-repo.ts';

/** The server's objects: the core (core-context.ts) and everything its start-up brings up. */
export interface AppContext extends CoreContext {
  throttle: LoginThrottle;
  /** Users of identity providers: linked, provisioned, role mapped, remote groups synced. */
  accounts: RemoteAccounts;
  /** The scheduled LDAP group sync, when LDAP logins are configured (timed work of the scheduler). */
  ldapSync: LdapGroupSync | undefined;
  store: BundleStore;
  content: ContentService;
  /** Who owns an item and whether it is locked (PATCH /v1/content/{guid}), audited. */
  lifecycle: ContentLifecycle;
  /** Who may view, manage and deploy which content: the one place that decides. */
  access: AccessPolicy;
  /** The permissions API (grants on content). */
  permissions: ContentPermissions;
  /** A content item's bundles: listing, lookup, deletion. */
  bundles: BundleService;
  groups: GroupService;
  vanities: VanityService;
  /** The catalog's tag tree and the tags on content. */
  tags: TagService;
  /** Content thumbnails: set and removed through the API, served by the content router. */
  thumbnails: ThumbnailService;
  contentFiles: ContentFiles;
  /** The catalog's search (the browser's and `GET /v1/search/content`). */
  search: ContentSearchService;
  /** The instrumentation API's reads of usage, and its retention. */
  usage: UsageService;
  deploys: DeployService;
  /** What each item's active bundle runs with (`/v1/packages`, `.../packages`, `.../lockfile`). */
  packages: PackageService;
  /** Connect's runtime caches, for administrators when the server allows it. */
  caches: RuntimeCacheService;
  tasks: TaskService;
  variables: VariableService;
  runtime: Runtime;
  /** Which app modes are rendered, served or static, as their recipes say. */
  appModes: AppModeKinds;
  /** Rendered reports: variants, renders and their history, schedules, subscribers. */
  reports: ReportServices;
  /** Git-backed content: locations, bundles made from git, the webhook, polling. */
  git: GitServices;
  /** The daily prune (retention.*, usage.retentionDays): timed work of the scheduler. */
  retention: DailyPrune;
  /** What the scheduler and render history read the time from (tests drive it). */
  clock: () => Date;
  /** Adds a listener for activations and deletions (the proxy's pool). */
  subscribe(listener: ContentEvents): void;
  /** Tells the runtime and every subscriber about a change (routes that delete call it). */
  events: ContentEvents;
  /** Where content reaches this server (CONNECT_SERVER); set to the bound port once listening. */
  setServerUrl(url: string): void;
  checkDatabase: () => Promise<boolean>;
}

/**
 * The server's start-up: the core (database, repositories, user and key services), then the
 * recovery a restart needs (interrupted tasks failed, leftover uploads removed, the content
 * runtime with its orphans stopped or adopted, stale process keys revoked). `events` is how
 * services tell the proxy about activations. Only the server calls this, never the CLI.
 */
export interface AppOptions {
  /** The time, for schedules and render history; tests pass one they drive. */
  clock?: () => Date;
}

export async function createAppContext(config: Config, logger: Logger, events: ContentEvents = NO_CONTENT_EVENTS, opts: AppOptions = {}): Promise<AppContext> {
  const clock = opts.clock ?? (() => new Date());
  const core = await openCore(config, logger);
  const { db, secretKey, repos, audit, users, keys } = core;
  const generation = core.writeGeneration;
  const throttle = new LoginThrottle(config.auth.maxFailedLogins, config.auth.failedLoginWindowMinutes);
  const accounts = new RemoteAccounts(users, new IdentityRepo(db.knex), repos.groups, audit, {
    defaultRole: config.auth.defaultRole,
    linkExistingUsers: config.auth.linkExistingUsers,
    roleMapping: config.auth.roleMapping,
  });
  const ldap = config.auth.ldap;
  const ldapSync = ldap
    ? new LdapGroupSync(new LdapDirectory(ldap), accounts, ldap.groupSyncHours, logger.child({ component: 'ldap-sync' }), clock())
    : undefined;
  const appModes = createBundleValidator();
  const store = new BundleStore(config.dataDir, config.bundles, appModes, repos.bundles);
  await store.init();
  const tasks = new TaskService(repos.tasks);
  const interrupted = await tasks.start();
  if (interrupted.length) logger.warn({ tasks: interrupted }, 'marked tasks interrupted by a restart as failed');
  // The SecretBox context names the stored ciphertexts: it stays 'content-environment', the
  // value it had when variables were first encrypted, or existing ones would not decrypt.
  const variables = new VariableService(repos.variables, new SecretBox(secretKey, 'content-environment'), audit);
  let serverUrl = config.server.publicUrl ?? `http://127.0.0.1:${config.server.port}`;
  const processEnv = new ProcessVariableService(repos.content, repos.users, keys, repos.keys, variables, () => serverUrl, secretKey);
  // Containers an earlier run left are kept for bundles that still exist.
  const keep = async (guid: string, bundleId: number) => {
    const c = await repos.content.byGuid(guid);
    return !!c && !!(await repos.bundles.byId(c.id, bundleId));
  };
  // One path for every backend: create, recover, hand what it adopted to the runner (which
  // revokes a key when its instance stops), revoke every other key left from before.
  const runtime = await createRuntime(config, processEnv);
  const recovered = await runtime.backend.recover(keep);
  runtime.runner.adopt(recovered.adopted, (jobKey) => processEnv.revoke(jobKey));
  await processEnv.revokeLeftovers([...new Set(recovered.adopted.map((i) => i.envKey ?? i.key))]);
  for (const w of [...runtime.warnings, ...recovered.warnings]) logger.warn(w);
  logger.info({ ...runtime.summary, adopted: recovered.adopted.length }, 'content runtime ready');
  // Running instances follow activations and deletions; whoever else listens (the proxy) too.
  // Deleted content stops at once; after an activation the proxy's pool drains the old bundle.
  const listeners: ContentEvents[] = [events];
  const allEvents: ContentEvents = {
    bundleActivated(guid, bundleId) {
      for (const l of listeners) l.bundleActivated(guid, bundleId);
    },
    contentDeleted(guid) {
      void runtime.runner
        .discard(guid, null)
        .catch((err: Error) => logger.warn({ content: guid, err: err.message }, 'could not free what the deleted content held'));
      for (const l of listeners) l.contentDeleted(guid);
    },
    bundleDeleted(guid, bundleId) {
      void runtime.runner
        .discard(guid, bundleId)
        .catch((err: Error) => logger.warn({ content: guid, bundle: bundleId, err: err.message }, 'could not free what the deleted bundle held'));
      for (const l of listeners) l.bundleDeleted(guid, bundleId);
    },
    // Only stopped: its environments and images stay for when it is unlocked.
    contentLocked(guid) {
      void runtime.runner.stopContent(guid).catch((err: Error) => logger.warn({ content: guid, err: err.message }, 'could not stop the locked content'));
      for (const l of listeners) l.contentLocked(guid);
    },
  };
  const access = new AccessPolicy(repos.permissions);
  const content = new ContentService(repos.content, repos.users, store, allEvents, access, config.scaling, audit);
  const variants = new VariantService(repos.variants, content, access, appModes, audit, { renderings: repos.renderings, renderer: runtime.reports });
  const renders = new RenderService(
    { renderings: repos.renderings, variants: repos.variants, content: repos.content, bundles: repos.bundles },
    variants,
    store,
    runtime.reports,
    tasks,
    audit,
    {
      serverId: serverIdentity(),
      keepRenderings: config.reports.keepRenderings,
      leaseSeconds: config.reports.leaseSeconds,
      maxConcurrent: config.reports.maxConcurrentRenders,
      baseUrl: () => serverUrl,
    },
    clock,
    logger.child({ component: 'renders' }),
  );
  const mailer = new ReportMailer(
    new ReportRecipients(repos.permissions, repos.groups, repos.users, repos.subscribers, access),
    core.mail.outbox,
    core.mail.settings,
    repos.renderings,
    runtime.reports,
    tasks,
    { publicUrl: () => config.server.publicUrl ?? null, baseUrl: () => serverUrl, sendsPerHour: config.reports.onDemandEmailsPerHour },
    clock,
    logger.child({ component: 'report-mail' }),
  );
  renders.onFinished((f) => mailer.rendered(f));
  const reports: ReportServices = {
    variants,
    renders,
    mailer,
    schedules: new ScheduleService(repos.schedules, variants, audit, clock, logger.child({ component: 'schedules' })),
    subscriptions: new SubscriptionService(repos.subscribers, repos.users, variants, access, audit),
  };
  const deploys = new DeployService(
    repos.content,
    repos.bundles,
    store,
    tasks,
    createBundleBuilder(runtime.runner),
    allEvents,
    logger,
    renders,
    audit,
    repos.packages,
  );
  const caches = new RuntimeCacheService(runtime.caches, tasks, audit, config.runtimeCaches.allowManagement, logger.child({ component: 'runtime-caches' }));
  const git = await createGitServices(config, {
    locations: new GitLocationRepo(db.knex),
    content: repos.content,
    users: repos.users,
    store,
    deploys,
    tasks,
    audit,
    secretKey,
    clock,
    logger,
  });
  // A deleted item's location goes with it (a foreign key); its fetch cache goes here.
  listeners.push({
    ...NO_CONTENT_EVENTS,
    contentDeleted: (guid) =>
      void git.deployer.forget(guid).catch((err: Error) => logger.warn({ content: guid, err: err.message }, 'could not remove the git cache')),
  });
  const bundles = new BundleService(content, repos.bundles, store, tasks, allEvents, audit);
  const usage = new UsageService(repos.usage, config.usage.retentionDays);
  const retention = createRetention({
    config,
    repos,
    timedWork: new TimedWorkRepo(db.knex),
    serverId: renders.serverId,
    audit,
    bundles,
    store,
    usage,
    jobs: runtime.jobs,
    renderer: runtime.reports,
    logger: logger.child({ component: 'retention' }),
  });
  return {
    config,
    logger,
    db,
    secretKey,
    repos,
    audit,
    mail: core.mail,
    users,
    keys,
    throttle,
    accounts,
    ldapSync,
    store,
    content,
    lifecycle: new ContentLifecycle(repos.users, access, audit, allEvents),
    access,
    permissions: new ContentPermissions(repos.permissions, repos.users, repos.groups, audit, access),
    bundles,
    groups: new GroupService(repos.groups, repos.users, audit).cacheWith(generation),
    vanities: new VanityService(repos.vanities, repos.content, access, audit),
    search: new ContentSearchService(new ContentSearchRepo(db.knex), repos.users, content, access, repos.thumbnails, repos.tags, new RecentViewRepo(db.knex)),
    tags: new TagService(repos.tags, content, access, audit),
    usage,
    thumbnails: new ThumbnailService(repos.thumbnails, content, audit),
    contentFiles: new ContentFiles(repos.content, repos.bundles, store, access, { variants: repos.variants, renderings: repos.renderings }, generation),
    deploys,
    packages: new PackageService(repos.packages, content, access),
    caches,
    tasks,
    variables,
    runtime,
    appModes,
    reports,
    git,
    retention,
    clock,
    subscribe: (l) => void listeners.push(l),
    events: allEvents,
    setServerUrl: (url) => {
      if (!config.server.publicUrl) serverUrl = url;
    },
    checkDatabase: () => pingDatabase(db),
    writeGeneration: generation,
    close: async () => {
      // Let running deploys write their last lines before the database goes; renders get the
      // grace period, then are handed back (never failed) for another server or the next start.
      // A webhook's fetch may still start a deploy: it goes first.
      await git.webhooks.idle();
      await Promise.all([deploys.idle(), caches.idle(), reports.renders.close(config.server.shutdownGraceSeconds * 1000)]);
      await runtime.close();
      tasks.stop();
      await db.knex.destroy();
    },
  };
}
