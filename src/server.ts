import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { errorHandler, notFoundHandler, API_PREFIX } from './api/error-handler.ts';
import { apiRouter } from './api/router.ts';
import type { AppContext } from './app-context.ts';
import { LECTERN_VERSION } from './version.ts';
import { SESSION_COOKIE_NAME } from './domain/session.ts';
import { createCsrf } from './web/csrf.ts';
import { healthRoutes } from './web/health-routes.ts';
import { createPassport } from './web/passport.ts';
import { webRoutes } from './web/routes.ts';
import { contentRouter } from '../proxy/content-router.ts';
import { DatabaseSessionStore } from './web/session-store.ts';

const VIEWS_DIR = fileURLToPath(new URL('../views', import.meta.url));
export const SESSION_COOKIE = SESSION_COOKIE_NAME;

export interface LecternServer {
  app: express.Express;
  http: http.Server;
  ctx: AppContext;
  /** Starts listening; resolves with the bound port. */
  listen(port?: number, address?: string): Promise<number>;
  /** Stops taking connections, lets in-flight requests finish (up to the grace period), closes the database. */
  close(): Promise<void>;
}

/** The composition root for HTTP: every router and middleware is built here from the context. */
export function buildServer(ctx: AppContext): LecternServer {
  const { config, logger } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.server.trustProxy);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');

  // rsconnect-python 1.28 checks `//content/{guid}/`: treat runs of leading slashes as one.
  app.use((req, _res, next) => {
    if (req.url.startsWith('//')) req.url = req.url.replace(/^\/+/, '/');
    next();
  });
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/__ping__' || req.url === '/__health__' },
    }),
  );
  const https = config.server.publicUrl?.startsWith('https://') ?? false;
  // Over plain http (a first start, a laptop) HSTS and upgrade-insecure-requests would make
  // browsers ask for https that is not there.
  app.use(
    helmet({
      strictTransportSecurity: https,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: https ? [] : null } },
    }),
  );
  app.use('/__static__', express.static(`${VIEWS_DIR}/static`, { maxAge: '1h', index: false }));
  app.use(healthRoutes(ctx.checkDatabase, LECTERN_VERSION));

  const sessionMaxAgeMs = config.auth.sessionHours * 3600_000;
  const store = new DatabaseSessionStore(ctx.repos.sessions, sessionMaxAgeMs);
  app.use(
    session({
      name: SESSION_COOKIE,
      store,
      // The server's secret key signs the cookie; it never leaves the data directory.
      secret: ctx.secretKey.toString('base64'),
      resave: false,
      saveUninitialized: false,
      rolling: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: https, maxAge: sessionMaxAgeMs, path: '/' },
    }),
  );
  const passport = createPassport(ctx.users, ctx.throttle, ctx.audit);
  app.use(passport.initialize());
  app.use(passport.session());
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
  app.use(contentRouter(ctx.contentFiles, ctx.keys, ctx.runtime.runner));
  app.use(webRoutes({ passport, users: ctx.users, keys: ctx.keys, audit: ctx.audit, csrf }));
  app.use(notFoundHandler);
  app.use(errorHandler(logger));

  const server = http.createServer(app);
  let closing: Promise<void> | undefined;

  return {
    app,
    http: server,
    ctx,
    listen(port = config.server.port, address = config.server.address) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => {
          server.off('error', reject);
          const addr = server.address();
          const bound = typeof addr === 'object' && addr ? addr.port : port;
          ctx.setServerUrl(`http://127.0.0.1:${bound}`);
          resolve(bound);
        });
      });
    },
    close() {
      closing ??= (async () => {
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive sockets would hold close() open until their timeout. Busy ones finish
        // their request first, then are closed as soon as they fall idle.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const grace = setTimeout(() => server.closeAllConnections(), config.server.shutdownGraceSeconds * 1000);
        await drained;
        clearInterval(sweep);
        clearTimeout(grace);
        store.stop();
        await ctx.close();
      })();
      return closing;
    },
  };
}
