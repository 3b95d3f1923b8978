import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/bundles.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The real Shiny fixture, through Lectern's proxy in Debian's Chromium: the slider's value
// travels over the WebSocket, so a changed output proves the relay works end to end.
describe.each(DATABASES)('a Shiny app in a real browser on %s', (kind) => {
  let browser: Browser;
  let t: TestServer;
  beforeAll(async () => {
    browser = await launchChromium();
    t = await startTestServer(kind);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('logs in, opens the app, moves the slider, and the output follows', async () => {
    const alice = await t.createUser('alice', 'publisher');
    const d = await deployBundle(t.url, alice.key, 'hello-shiny', fixture('r-shiny.tar.gz'));
    expect(d.task.code, d.log).toBe(0);

    const page = await browser.newPage();
    await page.goto(`${t.url}/login`);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', alice.password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${t.url}/`);

    await page.goto(d.content.content_url);
    await expect.poll(() => page.textContent('#out'), { timeout: 20_000 }).toBe('100');
    // Drag the handle from the middle to the far right: n goes from 50 to 100.
    const handle = (await page.locator('.irs-handle').boundingBox())!;
    const line = (await page.locator('.irs-line').boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(line.x + line.width + 50, handle.y + handle.height / 2, { steps: 10 });
    await page.mouse.up();
    await expect.poll(() => page.textContent('#out'), { timeout: 10_000 }).toBe('200');
    await page.close();
  });
});
