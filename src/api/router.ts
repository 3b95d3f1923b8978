import { auditLogRoutes } from './routes/audit-logs.ts';
import { instrumentationRoutes } from './routes/instrumentation.ts';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppContext } from '../app-context.ts';
import type { ApiKeyService } from '../services/api-key-service.ts';
import { applicationsV0Routes } from './routes/applications-v0.ts';
import { bundleRoutes } from './routes/bundles.ts';
import { runtimeImageRoutes } from './routes/runtime-images.ts';
import { contentV1Routes } from './routes/content-v1.ts';
import { searchRoutes } from './routes/search.ts';
import { deployAndTaskRoutes } from './routes/deploy-tasks.ts';
import { groupRoutes } from './routes/groups.ts';
import { jobRoutes } from './routes/jobs.ts';
import { vanityRoutes } from './routes/vanity.ts';
import { variantRoutes } from './routes/variants.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { permissionRoutes } from './routes/permissions.ts';
import { tagRoutes } from './routes/tags.ts';
import { thumbnailRoutes } from './routes/thumbnails.ts';
import { runtimeSettingsRoutes } from './routes/runtime-settings.ts';
import { packageRoutes } from './routes/packages.ts';
import { runtimeCacheRoutes } from './routes/runtime-caches.ts';
import { metricsProcsRoutes } from './routes/metrics-procs.ts';
import { gitRepositoryRoutes } from './routes/git-repository.ts';
import { gitWebhookRoutes } from './routes/git-webhook.ts';
import { gitRepoHelperRoutes } from './routes/git-repo-helpers.ts';
import { ProcessList } from '../metrics/process-list.ts';
import { ProcessUsage } from '../metrics/process-usage.ts';
import type { UserService } from '../services/user-service.ts';
import { authenticateApiKey } from './middleware/authenticate.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { serverSettingsRoutes, type ServerSettingsInfo } from './routes/server-settings.ts';
import { userRoutes } from './routes/users.ts';
import './request-context.ts';

export interface ApiDeps {
  users: UserService;
  keys: ApiKeyService;
  info: ServerSettingsInfo;
  ctx: Pick<
    AppContext,
    | 'content'
    | 'lifecycle'
    | 'permissions'
    | 'bundles'
    | 'groups'
    | 'variables'
    | 'store'
    | 'deploys'
    | 'packages'
    | 'caches'
    | 'tasks'
    | 'repos'
    | 'runtime'
    | 'vanities'
    | 'events'
    | 'appModes'
    | 'reports'
    | 'search'
    | 'tags'
    | 'thumbnails'
    | 'audit'
    | 'git'
    | 'usage'
  >;
  publicUrl: string | undefined;
  /** Checks the CSRF token; applied only to session-authenticated changes. */
  csrfProtection: (req: Request, res: Response, next: NextFunction) => void;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Everything under /__api__. */
export function apiRouter(deps: ApiDeps): Router {
  const r = Router();
  r.use(authenticateApiKey(deps.keys));
  // A browser's cookie rides along on cross-site requests; an API key does not. So a change
  // made with the session cookie must also carry the page's CSRF token.
  r.use((req, res, next) => {
    if (req.authVia === 'session' && !SAFE_METHODS.has(req.method)) return deps.csrfProtection(req, res, next);
    next();
  });
  // Before the JSON parser: a thumbnail is raw bytes, whatever Content-Type came with them.
  r.use(thumbnailRoutes(deps.ctx.thumbnails));
  // Before the JSON parser too: a webhook's signature is over the exact bytes sent.
  r.use(gitWebhookRoutes(deps.ctx.git.webhooks));
  // Clients send `application/json` (R, no charset) or with `; charset=utf-8` (Python).
  // Not strict: connectapi posts one subscriber guid as a bare JSON string (connect-api-next.md §4.3);
  // every route checks its body's shape anyway.
  r.use(express.json({ limit: '1mb', strict: false, type: ['application/json', 'application/*+json'] }));
  r.use(serverSettingsRoutes(deps.info));
  r.use(userRoutes(deps.users));
  r.use(apiKeyRoutes(deps.keys));
  const { ctx } = deps;
  r.use(contentV1Routes(ctx.content, ctx.lifecycle, ctx.variables, ctx.tags, deps.publicUrl));
  r.use(searchRoutes(ctx.search, deps.publicUrl));
  r.use(tagRoutes(ctx.tags, ctx.content, deps.publicUrl));
  r.use(permissionRoutes(ctx.content, ctx.permissions));
  r.use(groupRoutes(ctx.groups));
  r.use(bundleRoutes(ctx.content, ctx.bundles, ctx.store));
  r.use(deployAndTaskRoutes(ctx.content, ctx.deploys, ctx.tasks, ctx.git));
  r.use(packageRoutes(ctx.packages));
  r.use(runtimeCacheRoutes(ctx.caches));
  r.use(applicationsV0Routes(ctx.content, ctx.store, deps.publicUrl));
  r.use(jobRoutes(ctx.content, ctx.runtime.jobs));
  r.use(variantRoutes(ctx.reports));
  r.use(scheduleRoutes(ctx.reports));
  r.use(vanityRoutes(ctx.content, ctx.vanities));
  r.use(gitRepositoryRoutes(ctx.content, ctx.git, deps.publicUrl));
  r.use(gitRepoHelperRoutes(ctx.git.browser));
  r.use(runtimeSettingsRoutes(ctx.runtime.interpreters));
  r.use(runtimeImageRoutes(() => ctx.runtime.runtimeImages()));
  r.use(auditLogRoutes(ctx.audit, deps.publicUrl));
  r.use(instrumentationRoutes(ctx.usage, deps.publicUrl));
  const processes = new ProcessList({ running: () => ctx.runtime.runner.running(), content: (guid) => ctx.repos.content.byGuid(guid) }, new ProcessUsage());
  r.use(metricsProcsRoutes(processes, deps.publicUrl));
  return r;
}
