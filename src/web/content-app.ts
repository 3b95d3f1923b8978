import express from 'express';
import type { Logger } from 'pino';
import { contentRouter } from '../../proxy/content-router.ts';
import { vanityRewrite } from '../../proxy/vanity.ts';
import { errorHandler, notFoundHandler } from '../api/error-handler.ts';
import type { AppContext } from '../app-context.ts';
import type { BrowserSession } from './browser-session.ts';
import type { Origins } from './origins.ts';
import { collapseLeadingSlashes, requestLogging } from './request-logging.ts';

/**
 * The content origin: only `/content/...`, with the same browser session as Lectern's pages.
 * Nothing of Lectern's UI or API is served here, so a content script has nothing to reach.
 */
export function buildContentApp(ctx: AppContext, browser: BrowserSession, origin: Origins, logger: Logger, viewsDir: string) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', ctx.config.server.trustProxy);
  app.set('views', viewsDir);
  app.set('view engine', 'ejs');
  app.use(collapseLeadingSlashes);
  app.use(requestLogging(logger.child({ origin: 'content' })));
  app.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Only Lectern's own pages may frame content (clickjacking); the relayed apps' answers get
    // the same policy in proxy/relay.ts.
    res.setHeader('Content-Security-Policy', `frame-ancestors ${origin.own(req)}`);
    // Pages here (errors, "starting") link to Lectern's own origin.
    res.locals.mainOrigin = origin.main(req);
    next();
  });
  app.use(browser.unlessKey);
  app.use(vanityRewrite(ctx.vanities));
  app.use(contentRouter(ctx.contentFiles, ctx.keys, ctx.runtime.runner, origin));
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
