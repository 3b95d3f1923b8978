import express, { type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { errorHandler, notFoundHandler } from '../src/http/error-handler.ts';
import type { Origins } from '../src/http/origins.ts';
import { collapseLeadingSlashes, requestLogging } from '../src/http/request-logging.ts';
import type { ApiKeyService } from '../src/services/api-key-service.ts';
import type { ContentFiles } from '../src/services/content-files.ts';
import type { VanityService } from '../src/services/vanity-service.ts';
import type { ThumbnailService } from '../src/services/thumbnail-service.ts';
import type { ContentRunner } from '../runtimes/content-runner.ts';
import type { ReportRenderer } from '../src/domain/reports.ts';
import { contentRouter } from './content-router.ts';
import { vanityRewrite } from './vanity.ts';
import { setHandoff } from './gateway.ts';
import { readHandoff } from './workers/handoff.ts';
import type { User } from '../src/domain/user.ts';

export interface ContentAppDeps {
  trustProxy: number;
  /** The browser session's middleware (src/web/browser-session.ts), skipped for API-key callers. */
  session: RequestHandler;
  files: ContentFiles;
  keys: ApiKeyService;
  runner: ContentRunner;
  /** Where a report's recorded renders are on disk. */
  reports: ReportRenderer;
  vanities: VanityService;
  thumbnails: ThumbnailService;
  origin: Origins;
  logger: Logger;
  viewsDir: string;
  /**
   * The server process's pages for its proxy workers' handoffs (on a socket of its own): what a
   * worker learnt comes with the request, believed with the secret; the worker logged it.
   */
  fromWorkers?: { secret: string; userById(id: number): Promise<User | undefined> };
}

/**
 * The content origin: only `/content/...`, with the same browser session as Lectern's pages.
 * Nothing of Lectern's UI or API is served here, so a content script has nothing to reach.
 */
export function buildContentApp(d: ContentAppDeps) {
  const { origin, logger } = d;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', d.trustProxy);
  app.set('views', d.viewsDir);
  app.set('view engine', 'ejs');
  app.use(collapseLeadingSlashes);
  const fromWorkers = d.fromWorkers;
  if (fromWorkers)
    app.use((req, _res, next) => {
      readHandoff(req, fromWorkers.secret, fromWorkers.userById).then((h) => {
        if (h) setHandoff(req, h);
        next();
      }, next);
    });
  else app.use(requestLogging(logger.child({ origin: 'content' })));
  app.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Only Lectern's own pages may frame content (clickjacking); the relayed apps' answers get
    // the same policy in proxy/relay.ts.
    res.setHeader('Content-Security-Policy', `frame-ancestors ${origin.own(req)}`);
    // Pages here (errors, "starting") link to Lectern's own origin.
    res.locals.mainOrigin = origin.main(req);
    next();
  });
  app.use(d.session);
  app.use(vanityRewrite(d.vanities));
  app.use(contentRouter(d.files, d.keys, d.runner, d.reports, d.thumbnails, origin));
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
