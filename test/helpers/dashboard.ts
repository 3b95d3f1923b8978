import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { fixture } from './bundles.ts';
import type { DatabaseKind } from './databases.ts';
import { deployBundle } from './deploy.ts';
import { api, startTestServer } from './server.ts';

/**
 * Serious and critical accessibility problems axe finds on the page (none is the bar). The
 * content's own frame is the publisher's document, not Lectern's page: it is left out.
 */
export async function axeProblems(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21aa']).exclude('iframe.content-frame').analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** Fills and sends the login form the page is on. */
export async function logIn(page: Page, username: string, password: string) {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

/** alice publishes two static items for everyone logged in; the report is tagged Finance/Q3. */
export async function publishedCatalog(kind: DatabaseKind) {
  const t = await startTestServer(kind);
  const alice = await t.createUser('alice', 'publisher');
  const vera = await t.createUser('vera', 'viewer');
  const report = await deployBundle(t.url, alice.key, 'quarterly-sales', fixture('py-static-html.tar.gz'), {
    title: 'Quarterly sales',
    description: 'Revenue by region',
  });
  expect(report.task.code, report.log).toBe(0);
  await api(t.url, 'PATCH', `/__api__/v1/content/${report.content.guid}`, { key: alice.key, body: { access_type: 'logged_in' } });
  const other = await deployBundle(t.url, alice.key, 'churn-model', fixture('py-static-html.tar.gz'), { title: 'Churn model' });
  await api(t.url, 'PATCH', `/__api__/v1/content/${other.content.guid}`, { key: alice.key, body: { access_type: 'logged_in' } });
  const finance = await api(t.url, 'POST', '/__api__/v1/tags', { key: t.admin.key, body: { name: 'Finance' } });
  const q3 = await api(t.url, 'POST', '/__api__/v1/tags', { key: t.admin.key, body: { name: 'Q3', parent_id: finance.body.id } });
  const tagged = await api(t.url, 'POST', `/__api__/v1/content/${report.content.guid}/tags`, { key: alice.key, body: { tag_id: q3.body.id } });
  expect(tagged.status).toBe(200);
  return { t, alice, vera, report: report.content.guid as string };
}

/**
 * Opens a settings tab of a content page as a reader does, by its link: htmx swaps the panel in
 * place and the address follows (the page itself is not reloaded).
 */
export async function openTab(page: Page, label: string) {
  const link = page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: label, exact: true });
  const href = await link.getAttribute('href');
  await link.click();
  await page.waitForURL((u) => u.pathname === href);
  await page.locator('#settings nav [aria-current="page"]', { hasText: label }).waitFor();
}
