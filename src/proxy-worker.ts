import http from 'node:http';
import { contentGateway, handoffOf, runGateway } from '../proxy/gateway.ts';
import { HttpRelay } from '../proxy/relay.ts';
import { WsRelay } from '../proxy/ws-relay.ts';
import { contentOrigins, contentUpgrade } from '../proxy/upgrade.ts';
import { RemotePool } from '../proxy/workers/remote-pool.ts';
import { TrafficToOwner, UsageToOwner } from '../proxy/workers/reports.ts';
import { handOff, stripHandoffHeaders } from '../proxy/workers/handoff.ts';
import type { Channel, FromWorker, ToWorker, WorkerInit } from '../proxy/workers/protocol.ts';
import { createBundleValidator } from '../runtimes/bundle-validator.ts';
import { RecipeBook } from '../runtimes/recipe-book.ts';
import { unixTarget } from '../runtimes/target.ts';
import { openDataPlane } from './data-plane.ts';
import { effectiveScaling } from './domain/scaling.ts';
import { drain } from './http/server-lifecycle.ts';
import { addressedOf, origins } from './http/origins.ts';
import { untrustedProxyWarning } from './http/proxy-warning.ts';
import { accessLog } from './http/request-logging.ts';
import { requestIdentity } from './http/request-identity.ts';
import { createLogger } from './logging/logger.ts';
import { CredentialsSigner } from './services/credentials-signature.ts';
import { UsageRecorderService } from './services/usage/usage-recorder.ts';
import type { Content } from './domain/content.ts';
import type { User } from './domain/user.ts';

/**
 * A proxy worker: one of the processes the content origin's data plane runs in
 * (`proxy.workers`, proxy/workers/owner.ts forks them). It authenticates, checks access and
 * relays to apps as the server's own gateway does, with its own connection pools; a process
 * slot comes from the owner (proxy/workers/remote-pool.ts), and everything that is not a relay
 * to an app (static files, renders, login, error and "starting" pages) goes to the owner's
 * content pages as it came in.
 */
const owner: Channel<FromWorker> = { send: (m) => void process.send?.(m) };
let remoteGeneration = 0;
let onMessage: ((m: ToWorker) => void) | undefined;

process.on('message', (m: ToWorker) => {
  if (m.t === 'init') void start(m);
  else if (m.t === 'generation') remoteGeneration = m.n;
  else onMessage?.(m);
});
// The owner went away (it crashed): nothing here can be placed or written any more.
process.on('disconnect', () => process.exit(1));
// A stop signal to the whole group (systemd, a terminal's Ctrl-C) is the owner's to act on:
// it drains the workers itself, so what they carry finishes and their usage rows are written.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => undefined);
owner.send({ t: 'booted' });

async function start(init: WorkerInit) {
  const { config } = init;
  const logger = createLogger(config.logging.level).child({ proxyWorker: process.pid });
  remoteGeneration = init.generation;
  const plane = openDataPlane(config, createBundleValidator(), () => remoteGeneration);
  const trustProxy = config.server.trustProxy;
  const origin = origins({
    publicUrl: config.server.publicUrl,
    contentUrl: config.server.contentUrl,
    mainPort: () => init.mainPort,
    contentPort: () => init.port,
  });
  const forwarding = { trustProxy, originOf: origin.configuredFor };
  const relay = new HttpRelay({ forwarding, frameAncestors: (req) => origin.own(addressedOf(req, trustProxy)) });
  const pool = new RemotePool(owner);
  const traffic = init.metrics ? new TrafficToOwner(owner) : undefined;
  const usageWriter = new UsageToOwner(owner);
  const usage = init.usage
    ? new UsageRecorderService(
        usageWriter,
        { flushRows: config.usage.flushRows, flushMs: 1000, maxRows: config.usage.maxBufferedRows },
        logger.child({ component: 'usage' }),
      )
    : undefined;
  onMessage = (m) => {
    if (pool.handle(m) || usageWriter.handle(m)) return;
    if (m.t === 'drain') void stop(m.graceSeconds);
  };
  const recipes = new RecipeBook(config.runtime.quarto);
  const identify = requestIdentity(plane.keys, plane.sessions, logger);
  const signer = new CredentialsSigner(plane.secretKey);
  const signCredentials = (guid: string, credentials: string) => signer.sign(guid, credentials);
  const viewerOf = async (user: User) => ({ username: user.username, groups: await plane.groupNames(user) });
  const scalingOf = (c: Content) => effectiveScaling(c, config.scaling);
  const gateway = contentGateway({
    identify,
    files: plane.files,
    runner: recipes,
    pool,
    vanities: plane.vanities,
    viewerOf,
    signCredentials,
    relay,
    scalingOf,
    log: accessLog(logger.child({ origin: 'content' })),
    startingPageAfterMs: config.proxy.startingPageAfterMs,
    traffic,
    usage,
  });
  const toOwner = handOff(new HttpRelay({ forwarding, frameAncestors: () => '' }), unixTarget(init.handoffSocket), init.handoffSecret);
  const noteProxy = untrustedProxyWarning(logger, trustProxy);
  const server = http.createServer((req, res) => {
    noteProxy(req);
    stripHandoffHeaders(req);
    const asSent = req.url;
    runGateway(gateway, logger, req, res, () => {
      // The owner's pages see the address as it was sent (a vanity path is theirs to rewrite).
      req.url = asSent;
      void toOwner(req, res, handoffOf(req));
    });
  });
  server.on(
    'upgrade',
    contentUpgrade({
      files: plane.files,
      runner: recipes,
      relay: new WsRelay(forwarding),
      identify,
      pingSeconds: config.proxy.websocketPingSeconds,
      traffic,
      usage,
      viewerOf,
      signCredentials,
      vanities: plane.vanities,
      pool,
      scalingOf,
      allowedOrigins: contentOrigins(config.server.contentUrl),
    }),
  );
  server.on('upgrade', noteProxy);

  async function stop(graceSeconds: number) {
    await drain(server, graceSeconds);
    pool.close();
    traffic?.close();
    // Open Shiny sessions end now, and what is buffered goes to the owner's writer.
    await usage?.close();
    await relay.close();
    await plane.close();
    process.exit(0);
  }

  server.listen(init.port, init.address, () => owner.send({ t: 'listening' }));
}
