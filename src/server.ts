import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express from 'express';
import helmet from 'helmet';
import { createRequire } from 'node:module';
import { buildContentApp } from '../proxy/content-app.ts';
import { contentRouter } from '../proxy/content-router.ts';
import { apiRouter } from './api/router.ts';
import type { AppContext } from './app-context.ts';
import type { User } from './domain/user.ts';
import { keyFromHeaders } from './services/api-key-service.ts';
import { LECTERN_VERSION } from './version.ts';
import { createBrowserSession } from './web/browser-session.ts';
import { healthRoutes } from './web/health-routes.ts';
import { webPages } from './web/pages/index.ts';
import { API_PREFIX, errorHandler, notFoundHandler } from './http/error-handler.ts';
import { createCsrf } from './http/csrf.ts';
import { addressedOf, origins } from './http/origins.ts';
import { untrustedProxyWarning } from './http/proxy-warning.ts';
import { accessLog, collapseLeadingSlashes, requestLogging } from './http/request-logging.ts';
import { requestIdentity } from './http/request-identity.ts';
import { drain, listenOn } from './http/server-lifecycle.ts';
import { contentGateway, handoffOf, runGateway } from '../proxy/gateway.ts';
import { HttpRelay } from '../proxy/relay.ts';
import { WsRelay } from '../proxy/ws-relay.ts';
import { contentOrigins, contentUpgrade } from '../proxy/upgrade.ts';
import { vanityBasePath, vanityRewrite } from '../proxy/vanity.ts';
import { InstancePool } from '../proxy/instance-pool.ts';
import { startProxyWorkers, type ProxyWorkers } from '../proxy/workers/owner.ts';
import { FRONT_LINGER_MS, frontSettings, startFront, type FrontStats, type RunningFront } from '../proxy/front/start.ts';
import { freePort } from '../runtimes/local/ports.ts';
import { afterWrites } from './db/write-generation.ts';
import { poolSource } from '../proxy/pool-source.ts';
import { effectiveScaling } from './domain/scaling.ts';
import { CredentialsSigner } from './services/credentials-signature.ts';
import { ServerStatusService } from './services/server-status.ts';
import { readDiskSpace } from './services/disk-space.ts';
import type { Content } from './domain/content.ts';
import { timedWork } from './timed-work.ts';
import type { Scheduler } from '../scheduler/index.ts';
import { observability } from './observability.ts';
import { parseListenAddress } from './metrics/listen-address.ts';
import { metricsHandler } from './metrics/metrics-endpoint.ts';
import { UsageRecorderService } from './services/usage/usage-recorder.ts';

const VIEWS_DIR = fileURLToPath(new URL('../views', import.meta.url));
const HTMX_FILE = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
// Proxy workers run TypeScript as the server does: tsx's loader, found from here, not the cwd.
const WORKER_ENTRY = fileURLToPath(new URL('./proxy-worker.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface LecternServer {
  app: express.Express;
  http: http.Server;
  /** The content origin's server. */
  contentHttp: http.Server;
  readonly contentPort: number;
  ctx: AppContext;
  /** Schedules, render retries and the mail outbox; started once listening (tests call its tick()). */
  scheduler: Scheduler;
  /** The port Prometheus metrics are served on with `metrics.listen`, once listening. */
  readonly metricsPort: number | undefined;
  /** Usage recorded by the proxy (absent when `usage.enabled` is off); `flush()` writes what is buffered. */
  usage: UsageRecorderService | undefined;
  /** With `proxy.front: nginx`, what it decided. */
  frontStats(): FrontStats | undefined;
  frontPid(): number | undefined;
  /** The proxy workers' process ids (none with `proxy.workers` 1). */
  proxyWorkerPids(): number[];
  /** Starts listening on both origins; resolves with Lectern's own port. */
  listen(port?: number, address?: string): Promise<number>;
  /** Stops taking connections, lets in-flight requests finish (up to the grace period), closes the database. */
  close(): Promise<void>;
}

/** The composition root for HTTP: both origins, their middleware and routers, graceful close. */
export function buildServer(ctx: AppContext): LecternServer {
  const { config, logger } = ctx;
  const startedAt = new Date();
  let boundMain = config.server.port;
  let boundContent = config.server.contentPort;
  const origin = origins({
    publicUrl: config.server.publicUrl,
    contentUrl: config.server.contentUrl,
    mainPort: () => boundMain,
    contentPort: () => boundContent,
  });

  const https = config.server.publicUrl?.startsWith('https://') ?? false;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.server.trustProxy);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');
  app.use(collapseLeadingSlashes);
  app.use(requestLogging(logger));

  const { metrics, usageWriter, usage } = observability(ctx);
  // On Lectern's own port, behind the bearer token (the schema requires one with `enabled`).
  if (metrics && config.metrics.enabled && config.metrics.token) app.get('/metrics', metricsHandler(metrics.registry, config.metrics.token));
  // On an address of its own, without a token: the administrator chose who can reach it.
  const ownMetrics = metrics && config.metrics.listen !== undefined ? metricsHandler(metrics.registry, undefined) : undefined;
  const metricsServer = ownMetrics
    ? http.createServer((req, res) => ((req.url ?? '').split('?')[0] === '/metrics' ? ownMetrics(req, res) : res.writeHead(404).end()))
    : undefined;
  let boundMetrics: number | undefined;

  const browser = createBrowserSession(ctx, https);
  const ssoFormOrigins = [...new Set(browser.logins.flatMap((p) => (p.kind === 'redirect' && p.formOrigins ? p.formOrigins() : [])))];
  // How many processes each app runs, and which gets a connection; drains old bundles.
  const scalingOf = (c: Content) => effectiveScaling(c, config.scaling);
  const pool = new InstancePool(ctx.runtime.runner, poolSource(ctx.contentFiles, ctx.runtime.runner, scalingOf, config.scaling.minProcesses), (msg, err) =>
    logger.warn({ err }, msg),
  );
  ctx.subscribe({
    bundleActivated: (guid, bundleId) => {
      pool.drain(guid, bundleId);
      void pool.maintain();
    },
    contentDeleted: () => undefined,
    bundleDeleted: () => undefined,
    contentLocked: () => undefined,
  });
  void pool.maintain();
  const viewerOf = async (user: User) => ({ username: user.username, groups: await ctx.groups.namesOf(user) });
  // Apps can check that the credentials header came from Lectern: signed with the item's key.
  const credentialsSigner = new CredentialsSigner(ctx.secretKey);
  const signCredentials = (contentGuid: string, credentials: string) => credentialsSigner.sign(contentGuid, credentials);

  // Content on Lectern's own origin is for API-key callers only (API consumers, rsconnect's
  // post-deploy check). Running apps are the gateway's (below); the rest of content goes
  // past the machinery of Lectern's pages (helmet, sessions): the key decides who they are.
  const keyContent = express.Router();
  keyContent.use(vanityRewrite(ctx.vanities));
  keyContent.use(contentRouter(ctx.contentFiles, ctx.keys, ctx.runtime.runner, ctx.runtime.reports, ctx.thumbnails, origin));
  // (The gateway may have taken the key off a request it hands on with an error for the app.)
  app.use((req, res, next) => ((keyFromHeaders(req.headers) || handoffOf(req)) && !req.path.startsWith(API_PREFIX) ? keyContent(req, res, next) : next()));
  // Over plain http (a first start, a laptop) HSTS and upgrade-insecure-requests would make
  // browsers ask for https that is not there.
  app.use(
    helmet({
      strictTransportSecurity: https,
      contentSecurityPolicy: {
        directives: {
          upgradeInsecureRequests: https ? [] : null,
          // Logging in can end on the content origin (a viewer sent to log in from there),
          // and browsers apply form-action to the redirect after a form too.
          // Logging out of a single sign-on provider ends at its end-session page, after the form.
          formAction: ["'self'", (req) => origin.content(req as express.Request), ...ssoFormOrigins],
          // The content page frames content, and the catalog shows thumbnails, from the content origin.
          frameSrc: ["'self'", (req) => origin.content(req as express.Request)],
          imgSrc: ["'self'", 'data:', (req) => origin.content(req as express.Request)],
        },
      },
    }),
  );
  // htmx from the installed package (pinned in package.json), never a CDN.
  app.get('/__static__/htmx.min.js', (_req, res) => res.sendFile(HTMX_FILE, { maxAge: '1h' }));
  app.use('/__static__', express.static(`${VIEWS_DIR}/static`, { maxAge: '1h', index: false }));
  // Connect's favicon address: connectapi's thumbnail test downloads an image from it.
  app.get('/connect/__favicon__', (_req, res) => res.sendFile('favicon.png', { root: `${VIEWS_DIR}/static`, maxAge: '1h' }));
  app.use(
    healthRoutes({
      checkDatabase: ctx.checkDatabase,
      version: LECTERN_VERSION,
      disk: () => readDiskSpace(config.dataDir, config.health),
      diskThresholds: config.health,
    }),
  );

  app.use(browser.unlessKey);
  const csrf = createCsrf();

  app.use(
    API_PREFIX,
    apiRouter({
      users: ctx.users,
      keys: ctx.keys,
      info: { hostname: os.hostname(), lecternVersion: LECTERN_VERSION },
      csrfProtection: csrf.protect,
      ctx,
      publicUrl: config.server.publicUrl,
    }),
  );
  // Browsers asking Lectern's origin for content (a vanity path too) go to the content origin.
  const toContentOrigin = (req: express.Request, res: express.Response) => res.redirect(302, origin.content(req) + req.originalUrl.replace(/^\/+/, '/'));
  app.use(vanityRewrite(ctx.vanities), (req, res, next) => (vanityBasePath(req) ? toContentOrigin(req, res) : next()));
  app.use('/content', toContentOrigin);
  app.use(
    webPages({
      passport: browser.passport,
      logins: browser.logins,
      users: ctx.users,
      keys: ctx.keys,
      audit: ctx.audit,
      search: ctx.search,
      content: ctx.content,
      thumbnails: ctx.thumbnails,
      permissions: ctx.permissions,
      vanities: ctx.vanities,
      bundles: ctx.bundles,
      deploys: ctx.deploys,
      jobs: ctx.runtime.jobs,
      tags: ctx.tags,
      variables: ctx.variables,
      reports: ctx.reports,
      lifecycle: ctx.lifecycle,
      groups: ctx.groups,
      // The administrator's status page; the runtime's facts are known here only.
      status: new ServerStatusService({
        version: LECTERN_VERSION,
        startedAt,
        database: ctx.db.dialect,
        backend: ctx.runtime.name,
        dataDir: config.dataDir,
        diskThresholds: config.health,
        interpreters: ctx.runtime.interpreters,
        quartoPath: config.runtime.quarto,
        runtimeImages: () => ctx.runtime.runtimeImages(),
        runningProcesses: () => ctx.runtime.runner.running().length,
        countContent: async () => (await ctx.repos.content.list({ offset: 0, limit: 1 })).total,
        countUsers: () => ctx.users.count(),
      }),
      csrf,
      origin,
      handoffs: browser.handoffs,
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(logger));

  const identify = requestIdentity(ctx.keys, browser.reader, logger);
  // What apps are told of where a request came from, and who may frame their pages.
  const forwarding = { trustProxy: config.server.trustProxy, originOf: origin.configuredFor };
  const frameAncestors = (req: http.IncomingMessage) => origin.own(addressedOf(req, config.server.trustProxy));
  const relay = new HttpRelay({ forwarding, frameAncestors });
  // What every way to content (the gateway, WebSockets, the nginx front's decide) checks and asks.
  const dataPath = {
    identify,
    files: ctx.contentFiles,
    runner: ctx.runtime.runner,
    pool,
    vanities: ctx.vanities,
    viewerOf,
    signCredentials,
    scalingOf,
    traffic: metrics?.traffic,
    usage,
  };
  // Requests for running apps are relayed before Express; the rest go on to it.
  const gateway = contentGateway({
    ...dataPath,
    relay,
    log: accessLog(logger.child({ origin: 'content' })),
    startingPageAfterMs: config.proxy.startingPageAfterMs,
  });
  const withGateway =
    (next: http.RequestListener): http.RequestListener =>
    (req, res) =>
      runGateway(gateway, logger, req, res, () => next(req, res));
  // With proxy workers, they take the content origin's connections; this process serves its
  // pages to them alone (what they hand on: static files, renders, login, error and "starting"
  // pages), with what each worker learnt believed on its secret.
  // Behind the nginx front (proxy/front), nginx has the port and its own workers instead.
  const front = config.proxy.front === 'nginx';
  const workerCount = front ? 1 : config.proxy.workers;
  const handoffSecret = randomBytes(32).toString('base64url');
  const contentApp = buildContentApp({
    trustProxy: config.server.trustProxy + (workerCount > 1 || front ? 1 : 0),
    session: browser.unlessKey,
    files: ctx.contentFiles,
    keys: ctx.keys,
    runner: ctx.runtime.runner,
    reports: ctx.runtime.reports,
    vanities: ctx.vanities,
    thumbnails: ctx.thumbnails,
    origin,
    logger,
    viewsDir: VIEWS_DIR,
    ...(workerCount > 1 ? { fromWorkers: { secret: handoffSecret, userById: (id: number) => ctx.users.byId(id) } } : {}),
  });
  // On Lectern's own origin only API-key callers reach content (browsers are sent on).
  const toApp = withGateway(app);
  const server = http.createServer((req, res) => (keyFromHeaders(req.headers) ? toApp(req, res) : app(req, res)));
  const contentServer = http.createServer(workerCount > 1 ? contentApp : withGateway(contentApp));
  let workers: ProxyWorkers | undefined;
  let nginx: RunningFront | undefined;
  const handoffSocket = path.join(config.dataDir, 'run', `content-pages-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  const upgrade = contentUpgrade({
    ...dataPath,
    relay: new WsRelay(forwarding),
    pingSeconds: config.proxy.websocketPingSeconds,
    allowedOrigins: contentOrigins(config.server.contentUrl),
  });
  if (workerCount <= 1) contentServer.on('upgrade', upgrade);
  // A proxy Lectern was not told about (trustProxy 0) is said once in the log.
  const noteProxy = untrustedProxyWarning(logger, config.server.trustProxy);
  // (The workers' forwarded requests to this process's content pages are theirs to note.)
  for (const srv of workerCount > 1 || front ? [server] : [server, contentServer]) srv.on('request', noteProxy).on('upgrade', noteProxy);
  // On Lectern's own origin, WebSockets to content carry an API key (no browser sends one).
  server.on('upgrade', (req, socket, head) => (keyFromHeaders(req.headers) ? upgrade(req, socket, head) : socket.destroy()));
  // Timed work runs only in the server, never in the CLI: started once listening.
  const scheduler = timedWork(ctx, config, metrics, logger);
  let closing: Promise<void> | undefined;

  return {
    app,
    http: server,
    contentHttp: contentServer,
    ctx,
    scheduler,
    usage,
    get contentPort() {
      return boundContent;
    },
    get metricsPort() {
      return boundMetrics;
    },
    proxyWorkerPids: () => workers?.pids() ?? [],
    frontStats: () => nginx?.stats,
    frontPid: () => nginx?.pid,
    async listen(port = config.server.port, address = config.server.address) {
      boundMain = await listenOn(server, port, address);
      // With an ephemeral main port (tests), the content port is ephemeral too.
      if (workerCount > 1) {
        workers = await startProxyWorkers(contentServer, {
          count: workerCount,
          exec: WORKER_ENTRY,
          execArgv: ['--import', TSX_LOADER],
          config,
          // Workers share a socket by its port: an ephemeral one is chosen here, so that two
          // servers in one process (tests) never share theirs.
          port: port === 0 ? await freePort() : config.server.contentPort,
          address,
          mainPort: boundMain,
          handoffSocket,
          handoffSecret,
          pool,
          runner: ctx.runtime.runner,
          generation: ctx.writeGeneration,
          traffic: metrics?.traffic,
          writeUsage: usageWriter && ((batch) => usageWriter.write(batch)),
          logger: logger.child({ component: 'proxy-workers' }),
        });
        afterWrites(ctx.db.knex, () => workers?.noteWrite());
        boundContent = workers.port;
      } else if (front) {
        // nginx's requests outlive their leases: a drained or idle process is kept a while longer.
        pool.lingerMs = FRONT_LINGER_MS;
        nginx = await startFront({
          ...frontSettings(config, port === 0 ? await freePort() : config.server.contentPort, address),
          contentServer,
          decide: { ...dataPath, forwarding, frameAncestors },
          runner: ctx.runtime.runner,
          logger: logger.child({ component: 'nginx-front' }),
        });
        boundContent = nginx.port;
      } else boundContent = await listenOn(contentServer, port === 0 ? 0 : config.server.contentPort, address);
      if (metricsServer && config.metrics.listen) {
        const { host, port: metricsPort } = parseListenAddress(config.metrics.listen);
        boundMetrics = await listenOn(metricsServer, metricsPort, host);
      }
      ctx.setServerUrl(`http://127.0.0.1:${boundMain}`);
      scheduler.start();
      return boundMain;
    },
    close() {
      closing ??= (async () => {
        await Promise.all([
          drain(server, config.server.shutdownGraceSeconds),
          // The workers first finish what they carry, some of it through the content pages.
          (workers ?? nginx)?.close(config.server.shutdownGraceSeconds).then(() => drain(contentServer, 0)) ??
            drain(contentServer, config.server.shutdownGraceSeconds),
          ...(metricsServer ? [drain(metricsServer, 0)] : []),
        ]);
        await scheduler.stop();
        // After the drain, so the sessions it closed are written ended; before the database goes.
        await usage?.close();
        browser.store.stop();
        pool.stop();
        await relay.close();
        if (workers) rmSync(handoffSocket, { force: true });
        await ctx.close();
      })();
      return closing;
    },
  };
}
