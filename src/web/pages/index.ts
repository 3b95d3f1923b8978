import express, { Router } from 'express';
import { accountPage } from './account.ts';
import { adminAuditPage } from './admin-audit.ts';
import { adminContentPage } from './admin-content.ts';
import { adminGroupPage } from './admin-group.ts';
import { adminGroupsPage } from './admin-groups.ts';
import { adminSchedulesPage } from './admin-schedules.ts';
import { adminStatusPage } from './admin-status.ts';
import { adminUserPasswordPage } from './admin-user-password.ts';
import { adminUsersPage } from './admin-users.ts';
import { catalogPage } from './catalog.ts';
import { contentPage } from './content-page.ts';
import { loginPage } from './login.ts';
import { logoutPage } from './logout.ts';
import type { Page, PageDeps } from './page.ts';
import { passwordPage } from './password.ts';
import { ssoLoginPages } from './sso-login.ts';
import { themePage } from './theme.ts';

/** The browser pages. Adding one is its module (a `Page`) and one line here. */
const PAGES: readonly Page[] = [
  loginPage,
  ssoLoginPages,
  logoutPage,
  catalogPage,
  contentPage,
  accountPage,
  passwordPage,
  themePage,
  // The administrator's pages (requireAdmin): views/partials/admin-nav.ejs links them.
  adminUsersPage,
  adminUserPasswordPage,
  adminGroupsPage,
  adminGroupPage,
  adminContentPage,
  adminSchedulesPage,
  adminAuditPage,
  adminStatusPage,
];

export function webPages(d: PageDeps): Router {
  const r = Router();
  // A SAML response with many groups outgrows the forms' limit.
  r.post('/__login__/:name/callback', express.urlencoded({ extended: false, limit: '1mb' }));
  r.use(express.urlencoded({ extended: false, limit: '64kb' }));
  for (const page of PAGES) page(r, d);
  return r;
}
