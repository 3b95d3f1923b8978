import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { logIn } from './dashboard.ts';
import type { TestServer } from './server.ts';

/** Every administrator's page the admin sub-navigation links to. */
export const ADMIN_PAGES = ['/admin/users', '/admin/groups', '/admin/content', '/admin/schedules', '/admin/audit', '/admin/status'] as const;

/** A fresh browser context logged in as `username`, on `path` (through the login page). */
export async function loggedIn(
  browser: Browser,
  t: TestServer,
  who: { username: string; password: string },
  path: string,
  options: BrowserContextOptions = {},
): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(`${t.url}${path}`);
  await logIn(page, who.username, who.password);
  await page.waitForURL(`${t.url}${path}`);
  return page;
}

/** The cells of a table's body rows, as text (a `th scope=row` counts as a cell). */
export async function tableRows(page: Page, selector = 'main table'): Promise<string[][]> {
  return page
    .locator(`${selector} tbody tr`)
    .evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('th, td')).map((c) => (c.textContent ?? '').trim().replace(/\s+/g, ' '))));
}
