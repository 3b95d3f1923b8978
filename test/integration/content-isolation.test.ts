import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeBundle, uploadChunked } from '../helpers/bundles.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { DATABASES } from '../helpers/databases.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';

// A publisher's page tries to act as whoever opens it: read a Lectern page for its CSRF token,
// then create an API key through the API with the viewer's session.
const ATTACK = `
const report = (s) => { document.getElementById('status').textContent = s; };
(async () => {
  report('script ran');
  try {
    const home = await (await fetch('/', { credentials: 'include' })).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(home);
    const res = await fetch('/__api__/v1/user/api_keys', {
      method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token ? token[1] : '' },
      body: JSON.stringify({ name: 'stolen' }),
    });
    report('attack answered ' + res.status + ' cookies=' + document.cookie);
  } catch (e) {
    report('attack blocked: ' + e);
  }
})();
`;

describe.each(DATABASES)('content isolation in a real browser on %s', (kind) => {
  let browser: Browser;
  let t: TestServer;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => browser?.close());
  afterEach(async () => t?.close());

  it("runs a publisher's scripts but not with the viewer's session", async () => {
    t = await startTestServer(kind);
    const mallory = await t.createUser('mallory', 'publisher');
    const boss = await t.createUser('boss', 'administrator');

    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: mallory.key, body: { name: 'free-stats', access_type: 'all' } })).body;
    const bundle = await makeBundle(
      { 'index.html': '<!doctype html><p id="status">no script</p><script src="app.js"></script>', 'app.js': ATTACK },
      { appmode: 'static', primary_html: 'index.html' },
    );
    const up = await uploadChunked(t.url, `/__api__/v1/content/${c.guid}/bundles`, mallory.key, bundle);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key: mallory.key, body: { bundle_id: up.body.id } });
    expect((await followTaskV1(t.url, mallory.key, dep.body.task_id)).code).toBe(0);

    const page = await browser.newPage();
    await page.goto(`${t.url}/login`);
    await page.fill('input[name=username]', 'boss');
    await page.fill('input[name=password]', boss.password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${t.url}/`);
    expect(await page.textContent('#username')).toBe('boss');

    await page.goto(`${t.url}/content/${c.guid}/`);
    await page.waitForFunction(() => !['no script', 'script ran'].includes(document.getElementById('status')?.textContent ?? ''), null, { timeout: 15_000 });
    const status = await page.textContent('#status');
    expect(status).not.toBe('no script'); // content scripts do run
    expect(status).not.toMatch(/answered 201/);
    expect(status).toMatch(/^attack blocked/); // the page's origin is opaque: Lectern's answers are unreadable

    const keys = await api(t.url, 'GET', '/__api__/v1/user/api_keys', { key: boss.key });
    expect(keys.body.map((k: { name: string }) => k.name)).toEqual(['test']);
    await page.close();
  });
});
