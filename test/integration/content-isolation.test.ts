import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle } from '../helpers/bundles.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// A publisher's page tries to act as whoever opens it: read a Lectern page for its CSRF token,
// then create an API key through the API with the viewer's session.
const attack = (lectern: string) => `
const report = (s) => { document.getElementById('status').textContent = s; };
(async () => {
  report('script ran');
  try {
    const home = await (await fetch('${lectern}/', { credentials: 'include' })).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(home);
    const res = await fetch('${lectern}/__api__/v1/user/api_keys', {
      method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token ? token[1] : '' },
      body: JSON.stringify({ name: 'stolen' }),
    });
    report('attack answered ' + res.status);
  } catch (e) {
    report('attack blocked: ' + e);
  }
})();
`;

async function logIn(page: Page, t: TestServer, username: string, password: string) {
  await page.goto(`${t.url}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${t.url}/`);
}

describe.each(DATABASES)('content in a real browser on %s', (kind) => {
  let browser: Browser;
  let t: TestServer;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => browser?.close());
  afterEach(async () => t?.close());

  it("runs a publisher's scripts, on an origin of their own, never with the viewer's Lectern session", async () => {
    t = await startTestServer(kind);
    const mallory = await t.createUser('mallory', 'publisher');
    const boss = await t.createUser('boss', 'administrator');
    const bundle = await makeBundle(
      { 'index.html': '<!doctype html><p id="status">no script</p><script src="app.js"></script>', 'app.js': attack(t.url) },
      { appmode: 'static', primary_html: 'index.html' },
    );
    const d = await deployBundle(t.url, mallory.key, 'free-stats', bundle, { access_type: 'all' });
    expect(d.task.code).toBe(0);

    const page = await browser.newPage();
    await logIn(page, t, 'boss', boss.password);
    await page.goto(d.content.content_url);
    expect(page.url()).toBe(`${t.contentUrl}/content/${d.content.guid}/`);
    await page.waitForFunction(() => !['no script', 'script ran'].includes(document.getElementById('status')?.textContent ?? ''), null, { timeout: 15_000 });
    const status = await page.textContent('#status');
    expect(status).toMatch(/^attack blocked/);
    const keys = await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: boss.key });
    expect(keys.body.map((k: { name: string }) => k.name)).toEqual(['test']);
    await page.close();
  });

  it('shows private content with its styles and scripts to a viewer who logs in on the way', async () => {
    t = await startTestServer(kind);
    const owner = await t.createUser('owner', 'publisher');
    const bundle = await makeBundle(
      {
        'index.html': '<!doctype html><link rel="stylesheet" href="style.css"><p id="x">static</p><script src="app.js"></script>',
        'style.css': 'p { color: rgb(255, 0, 0); }',
        'app.js': 'document.getElementById("x").textContent = "script ran";',
      },
      { appmode: 'static', primary_html: 'index.html' },
    );
    const d = await deployBundle(t.url, owner.key, 'private-site', bundle);
    const page = await browser.newPage();
    // Straight to the content: sent to log in on Lectern's origin, then back.
    await page.goto(d.content.content_url);
    await page.waitForURL(/\/login\?next=/);
    await page.fill('input[name=username]', 'owner');
    await page.fill('input[name=password]', owner.password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${t.contentUrl}/content/${d.content.guid}/`);
    await page.waitForFunction(() => document.getElementById('x')?.textContent === 'script ran', null, { timeout: 10_000 });
    expect(await page.evaluate(() => getComputedStyle(document.getElementById('x')!).color)).toBe('rgb(255, 0, 0)');
    await page.close();
  });
});
