import type { NextFunction, Request, Response, Router } from 'express';
import { parse as parseCookie } from 'cookie';
import type { LecternPassport } from '../../auth/passport.ts';
import { AppError } from '../../domain/errors.ts';
import type { LoginProvider } from '../../auth/provider.ts';
import type { Origins } from '../../http/origins.ts';
import type { LoginHandoffs } from '../sso-session.ts';
import type { ApiKeyService } from '../../services/api-key-service.ts';
import type { AuditLog } from '../../services/audit-log.ts';
import type { ContentSearchService } from '../../services/content-search-service.ts';
import type { JobDirectory } from '../../domain/jobs.ts';
import type { BundleService } from '../../services/bundles/bundle-service.ts';
import type { ContentPermissions } from '../../services/content-permissions.ts';
import type { DeployService } from '../../services/deploy-service.ts';
import type { TagService } from '../../services/tag-service.ts';
import type { VariableService } from '../../services/variable-service.ts';
import type { ReportServices } from '../../services/reports/index.ts';
import type { ContentLifecycle } from '../../services/content-lifecycle.ts';
import type { ContentService } from '../../services/content-service.ts';
import type { GroupService } from '../../services/group-service.ts';
import type { ServerStatusService } from '../../services/server-status.ts';
import type { VanityService } from '../../services/vanity-service.ts';
import type { ThumbnailService } from '../../services/thumbnail-service.ts';
import type { UserService } from '../../services/user-service.ts';

/** The light or dark theme a user chose (`POST /theme`); unset: the browser's preference. */
export const THEME_COOKIE = 'lectern_theme';

/** What the pages use. */
export interface PageDeps {
  passport: LecternPassport;
  logins: readonly LoginProvider[];
  users: UserService;
  keys: ApiKeyService;
  audit: AuditLog;
  search: ContentSearchService;
  content: ContentService;
  thumbnails: ThumbnailService;
  permissions: ContentPermissions;
  vanities: VanityService;
  bundles: BundleService;
  deploys: DeployService;
  jobs: JobDirectory;
  tags: TagService;
  variables: VariableService;
  reports: ReportServices;
  lifecycle: ContentLifecycle;
  groups: GroupService;
  status: ServerStatusService;
  origin: Origins;
  /** SAML's cross-site POSTs, held for the GET that follows them. */
  handoffs: LoginHandoffs;
  csrf: { protect: (req: Request, res: Response, next: NextFunction) => void; token: (req: Request) => string };
}

/** A page module: adds its routes (GET and the forms it posts) to the pages' router. */
export type Page = (r: Router, d: PageDeps) => void;

type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

export const requireLogin: Handler = (req, res, next) => {
  if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  // A generated password must be replaced before anything else.
  if (req.user.mustChangePassword && req.path !== '/password') return res.redirect(303, '/password');
  next();
};

/** Administrators only (after requireLogin); anyone else gets the error page's 403, not a redirect. */
export const requireAdmin: Handler = (req, _res, next) => {
  next(req.user?.role === 'administrator' && !req.user.locked ? undefined : AppError.forbidden('This page is for administrators.'));
};

/** Renders a view from views/ with what every page's layout needs (the user, the CSRF token). */
export function renderPage(d: PageDeps, req: Request, res: Response, view: string, locals: Record<string, unknown> = {}, status = 200) {
  const theme = parseCookie(req.headers.cookie ?? '')[THEME_COOKIE];
  res.status(status).render(view, { user: req.user, csrfToken: d.csrf.token(req), uiTheme: theme, ...locals });
}

/** A form field as text, cut at `max` characters (absent or not text: empty). */
export function formText(v: unknown, max: number): string {
  return typeof v === 'string' ? v.slice(0, max) : '';
}

/**
 * A form's refusal to show on its own page, with the reason: an AppError a user can act on
 * (4xx; a 404 too unless `notFoundIsPage`). Anything else goes on to the error page.
 */
export function formRefusal(err: unknown, notFoundIsPage = true): AppError | undefined {
  if (!(err instanceof AppError) || err.status >= 500 || (err.status === 404 && !notFoundIsPage)) return undefined;
  return err;
}
