import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { axeProblems, logIn, publishedCatalog } from '../helpers/dashboard.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, type TestServer } from '../helpers/server.ts';

const SCREENSHOTS = path.resolve(import.meta.dirname, '../../docs/screenshots');

describe.each(DATABASES)('the dashboard in a real browser (%s)', (kind) => {
  let browser: Browser;
  let t: TestServer | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function published() {
    const made = await publishedCatalog(kind);
    t = made.t;
    return made;
  }

  it('lets a viewer find a report by search and by tag, open it in its page, and find it again under recently viewed', async () => {
    const { t, alice, vera, report } = await published();
    const page = await browser.newPage();
    await page.goto(`${t.url}/`);
    await logIn(page, 'vera', vera.password);
    await page.waitForURL(`${t.url}/`);
    const titles = () => page.locator('#results .item-title').allTextContents();
    expect((await titles()).sort()).toEqual(['Churn model', 'Quarterly sales']);

    // Typing narrows the results in place, and the address follows (a search is a link).
    await page.fill('#q', 'quarterly');
    await expect.poll(titles).toEqual(['Quarterly sales']);
    await expect.poll(() => page.url()).toContain('q=quarterly');

    // The tag tree: Finance is a category, Q3 a tag under it.
    await page.goto(`${t.url}/`);
    await page.getByRole('link', { name: 'Q3', exact: true }).click();
    await page.waitForURL(/tag=Finance%2FQ3/);
    expect(await titles()).toEqual(['Quarterly sales']);

    await page.getByRole('link', { name: 'Quarterly sales' }).click();
    await page.waitForURL(`${t.url}/apps/${report}`);
    expect(await page.locator('h1').first().textContent()).toBe('Quarterly sales');
    // The content itself, from the content origin, in the page's frame.
    const frame = page.frameLocator('iframe.content-frame');
    await expect.poll(() => frame.locator('h1').textContent(), { timeout: 15_000 }).toBe('Hello');

    // "Recently viewed" has what vera opened, the latest first; nothing she did not open.
    await page.goto(`${t.url}/`);
    await page.getByRole('link', { name: 'Recently viewed' }).click();
    await page.waitForURL(`${t.url}/?recent=1`);
    expect(await titles()).toEqual(['Quarterly sales']);
    await page.goto(`${t.url}/?q=churn`);
    await page.getByRole('link', { name: 'Churn model' }).click();
    await page.waitForURL(/\/apps\//);
    await page.goto(`${t.url}/?recent=1`);
    expect(await titles()).toEqual(['Churn model', 'Quarterly sales']);
    // An item she may no longer see leaves it.
    await api(t.url, 'PATCH', `/__api__/v1/content/${report}`, { key: alice.key, body: { access_type: 'acl' } });
    await page.goto(`${t.url}/?recent=1`);
    expect(await titles()).toEqual(['Churn model']);
    await page.close();
  });

  it('opens the dashboard URL the clients print, through the login page', async () => {
    const { t, vera, report } = await published();
    const page = await browser.newPage();
    await page.goto(`${t.url}/connect/#/apps/${report}`);
    await page.waitForURL(/\/login/);
    await logIn(page, 'vera', vera.password);
    await page.waitForURL(`${t.url}/apps/${report}`);
    expect(await page.locator('h1').first().textContent()).toBe('Quarterly sales');
    // Logged in already: straight there.
    await page.goto(`${t.url}/connect/#/apps/${report}`);
    await page.waitForURL(`${t.url}/apps/${report}`);
    await page.close();
  });

  it('has no serious accessibility problem on the catalog, a content page and the admin pages, in light and dark', async () => {
    const { t, alice, report } = await published();
    const root = await t.createUser('root', 'administrator');
    for (const scheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme: scheme });
      const page = await context.newPage();
      await page.goto(`${t.url}/login`);
      expect(await axeProblems(page), `login, ${scheme}`).toEqual([]);
      await logIn(page, 'alice', alice.password);
      await page.waitForURL(`${t.url}/`);
      expect(await axeProblems(page), `catalog, ${scheme}`).toEqual([]);
      // The README's pictures, from the same pages the checks just passed (once, from SQLite's run).
      if (kind === 'sqlite') await page.screenshot({ path: path.join(SCREENSHOTS, `catalog-${scheme}.png`) });
      await page.goto(`${t.url}/apps/${report}`);
      expect(await axeProblems(page), `content page, ${scheme}`).toEqual([]);
      if (kind === 'sqlite') {
        await expect.poll(() => page.frameLocator('iframe.content-frame').locator('h1').textContent(), { timeout: 15_000 }).toBe('Hello');
        await page.screenshot({ path: path.join(SCREENSHOTS, `content-page-${scheme}.png`), fullPage: true });
      }
      // Every settings tab a static item has (a rendered report's own tabs: content-settings-browser.test.ts).
      for (const tab of ['access', 'tags', 'variables', 'bundles', 'logs']) {
        await page.goto(`${t.url}/apps/${report}/${tab}`);
        expect(await axeProblems(page), `content page, ${tab} tab, ${scheme}`).toEqual([]);
      }
      await page.goto(`${t.url}/account`);
      expect(await axeProblems(page), `account, ${scheme}`).toEqual([]);
      await context.close();
      // The administrator's pages.
      const adminContext = await browser.newContext({ colorScheme: scheme });
      const adminPage = await adminContext.newPage();
      await adminPage.goto(`${t.url}/admin/users`);
      await logIn(adminPage, 'root', root.password);
      await adminPage.waitForURL(`${t.url}/admin/users`);
      expect(await axeProblems(adminPage), `users, ${scheme}`).toEqual([]);
      await adminContext.close();
    }
    // The theme switch overrides the browser's preference, and sticks.
    const context = await browser.newContext({ colorScheme: 'light' });
    const page = await context.newPage();
    await page.goto(`${t.url}/login`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/`);
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await page.waitForURL(`${t.url}/`);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(bg).toBe('rgb(18, 21, 28)');
    expect(await axeProblems(page), 'catalog, dark by choice').toEqual([]);
    // Only the way back shows now.
    expect(await page.getByRole('button', { name: /Switch to/ }).allTextContents()).toEqual(['Light theme']);
    await context.close();
  });

  it('lets an administrator create a user and lock another; the page is theirs alone', async () => {
    const { t, vera, alice } = await published();
    const root = await t.createUser('root', 'administrator');
    const page = await browser.newPage();
    await page.goto(`${t.url}/admin/users`);
    await logIn(page, 'root', root.password);
    await page.waitForURL(`${t.url}/admin/users`);
    await page.getByLabel('Username').fill('newbie');
    await page.getByLabel('Email').fill('newbie@example.com');
    await page.getByLabel('Role', { exact: true }).selectOption('publisher');
    await page.getByRole('button', { name: 'Create user' }).click();
    const password = (await page.locator('#new-password').textContent())!.trim();
    expect(password.length).toBeGreaterThan(11);
    expect(await page.getByRole('row', { name: /newbie/ }).textContent()).toContain('newbie@example.com');
    // A name already taken is refused on the page.
    await page.getByLabel('Username').fill('vera');
    await page.getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('already in use');
    // Locking vera ends her key's use at once.
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: vera.key })).status).toBe(200);
    await page.getByRole('button', { name: 'Lock vera' }).click();
    await page.waitForURL(`${t.url}/admin/users`);
    expect(await page.getByRole('row', { name: /vera/ }).textContent()).toContain('locked');
    expect((await api(t.url, 'GET', '/__api__/v1/user', { key: vera.key })).status).toBe(401);
    await page.close();
    // The new user logs in with the password shown (and must choose their own).
    const theirs = await browser.newPage();
    await theirs.goto(`${t.url}/login`);
    await logIn(theirs, 'newbie', password);
    await theirs.waitForURL(`${t.url}/password`);
    await theirs.close();
    // A publisher is told the page is not theirs.
    const not = await browser.newPage();
    await not.goto(`${t.url}/login`);
    await logIn(not, 'alice', alice.password);
    await not.waitForURL(`${t.url}/`);
    expect((await not.goto(`${t.url}/admin/users`))!.status()).toBe(403);
    await not.close();
  });
});
