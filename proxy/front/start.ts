import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../src/config/index.ts';
import type { ContentRunner } from '../../runtimes/content-runner.ts';
import { decide, type DecideDeps } from './decide.ts';
import { NginxFront } from './nginx-front.ts';

export interface FrontOptions {
  nginxPath: string;
  jsModule: string;
  workers: number;
  port: number;
  address: string;
  trustForwarded: boolean;
  /** `<dataDir>/run`: a 0700 directory for the sockets and nginx's files. */
  runDir: string;
  /** Lectern's content origin, served here on a Unix socket for nginx's hand-overs. */
  contentServer: http.Server;
  decide: Omit<DecideDeps, 'upstreamOf'>;
  runner: DecideDeps['runner'] & Pick<ContentRunner, 'running'>;
  logger: Logger;
}

/**
 * Said outright: nginx reads no body of an `auth_request` answer, so it keeps the connection
 * to Lectern open only for an answer it knows has none (Node would otherwise send it chunked).
 */
const NO_BODY = { 'content-length': '0' };

/** The front's settings from the configuration, with the port it takes. */
export function frontSettings(
  config: Config,
  port: number,
  address: string,
): Pick<FrontOptions, 'nginxPath' | 'jsModule' | 'workers' | 'port' | 'address' | 'trustForwarded' | 'runDir'> {
  return {
    nginxPath: config.proxy.nginxPath,
    jsModule: config.proxy.nginxJsModule,
    workers: config.proxy.workers,
    port,
    address,
    trustForwarded: config.server.trustProxy > 0,
    runDir: path.join(config.dataDir, 'run'),
  };
}

/**
 * How long a process nginx may still be relaying to is kept after its last decided request
 * before a drain (a new bundle activated) or idle_timeout stops it: nginx does not say when a
 * request ends. A request longer than this may be cut then.
 */
export const FRONT_LINGER_MS = 60_000;

/** What the front decided, counted: requests nginx relayed, and those it handed to Lectern. */
export interface FrontStats {
  relayed: number;
  handedOver: number;
}

export interface RunningFront {
  port: number;
  stats: FrontStats;
  pid: number | undefined;
  close(graceSeconds: number): Promise<void>;
}

function listenSocket(server: http.Server, socket: string): Promise<void> {
  rmSync(socket, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Starts the nginx front: Lectern's content origin and the decide endpoint on Unix sockets in
 * the run directory, then nginx on the content port, asking the one and handing over to the other.
 */
export async function startFront(o: FrontOptions): Promise<RunningFront> {
  const dir = path.join(o.runDir, 'front');
  const pagesSocket = path.join(o.runDir, 'front-pages.sock');
  const decideSocket = path.join(o.runDir, 'front-decide.sock');
  let front: NginxFront | undefined;
  const stats: FrontStats = { relayed: 0, handedOver: 0 };
  const deps: DecideDeps = { ...o.decide, upstreamOf: (i) => front?.upstreamOf(i) };
  const decideServer = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    decide(deps, req).then(
      (d) => {
        if (d === 'lectern') {
          stats.handedOver++;
          res.writeHead(401, NO_BODY).end();
        } else {
          stats.relayed++;
          res.writeHead(200, { ...d.relay, ...NO_BODY }).end();
        }
      },
      (err: unknown) => {
        stats.handedOver++;
        o.logger.error({ err, url: req.headers['x-original-uri'] }, 'nginx front: decide failed');
        res.writeHead(401, NO_BODY).end();
      },
    );
  });
  mkdirSync(o.runDir, { recursive: true, mode: 0o700 });
  await listenSocket(o.contentServer, pagesSocket);
  await listenSocket(decideServer, decideSocket);
  front = await NginxFront.start({
    nginxPath: o.nginxPath,
    jsModule: o.jsModule,
    workers: o.workers,
    // On `::`, IPv4 clients too, as Node's listener takes them.
    listen: o.address.includes(':') ? `[${o.address}]:${o.port}${o.address === '::' ? ' ipv6only=off' : ''}` : `${o.address}:${o.port}`,
    port: o.port,
    address: o.address,
    runDir: dir,
    decideSocket,
    pagesSocket,
    trustForwarded: o.trustForwarded,
    runner: o.runner,
    logger: o.logger,
  });
  const started = front;
  return {
    port: o.port,
    stats,
    pid: started.pid,
    async close(graceSeconds) {
      await started.close(graceSeconds);
      decideServer.closeAllConnections();
      await new Promise((resolve) => decideServer.close(resolve));
      rmSync(decideSocket, { force: true });
      rmSync(pagesSocket, { force: true });
    },
  };
}
