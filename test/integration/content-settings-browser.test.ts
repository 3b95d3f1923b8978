import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeBundle, uploadChunked } from '../helpers/bundles.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { axeProblems, logIn, openTab, publishedCatalog } from '../helpers/dashboard.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { followTaskV1 } from '../helpers/tasks.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const FAVICON = path.resolve(import.meta.dirname, '../../views/static/favicon.png');

describe.each(DATABASES)("a content item's settings in a real browser (%s)", (kind) => {
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

  it('lets a publisher retitle a report and upload its thumbnail, which the catalog shows; viewers get no settings', async () => {
    const { t, alice, vera, report } = await published();
    const page = await browser.newPage();
    await page.goto(`${t.url}/apps/${report}`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/apps/${report}`);
    await page.getByLabel('Title').fill('Quarterly sales (final)');
    await page.getByRole('button', { name: 'Save info' }).click();
    await page.waitForURL(`${t.url}/apps/${report}/info?saved=1`);
    expect(await page.locator('h1').first().textContent()).toBe('Quarterly sales (final)');
    // A file that is not an image is refused on the page, with the reason.
    await page.getByLabel(/Thumbnail/).setInputFiles({ name: 'notes.txt', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    await page.getByRole('button', { name: 'Upload thumbnail' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('must be a PNG');
    await page.getByLabel(/Thumbnail/).setInputFiles(FAVICON);
    await page.getByRole('button', { name: 'Upload thumbnail' }).click();
    await page.waitForURL(`${t.url}/apps/${report}/info?saved=1`);
    // The catalog's card shows it, loaded from the content origin with the viewer's session.
    await page.goto(`${t.url}/?q=final`);
    const img = page.locator('#results img.thumb');
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.close();
    // A viewer sees the content and no settings.
    const viewerPage = await browser.newPage();
    await viewerPage.goto(`${t.url}/apps/${report}`);
    await logIn(viewerPage, 'vera', vera.password);
    await viewerPage.waitForURL(`${t.url}/apps/${report}`);
    expect(await viewerPage.getByRole('heading', { name: 'Settings' }).count()).toBe(0);
    // Without the form's token, and with it: refused either way, and nothing changes.
    expect((await viewerPage.request.post(`${t.url}/apps/${report}/info`, { form: { title: 'pwned' } })).status()).toBe(403);
    const token = await viewerPage.locator('input[name=_csrf]').first().inputValue();
    expect((await viewerPage.request.post(`${t.url}/apps/${report}/info`, { form: { title: 'pwned', _csrf: token } })).status()).toBe(403);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}`, { key: alice.key })).body.title).toBe('Quarterly sales (final)');
    await viewerPage.close();
  });

  it('lets a publisher limit access to named viewers and give the item a vanity path', async () => {
    const { t, alice, vera, report } = await published();
    const walt = await t.createUser('walt', 'viewer');
    const page = await browser.newPage();
    await page.goto(`${t.url}/apps/${report}`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/apps/${report}`);
    await openTab(page, 'Access');
    await page.getByLabel('Specific users or groups').check();
    await page.getByRole('button', { name: 'Save access' }).click();
    await page.waitForURL(`${t.url}/apps/${report}/access?saved=1`);
    await page.getByLabel('User or group').fill('vera');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.waitForURL(`${t.url}/apps/${report}/access?saved=1`);
    expect(await page.locator('table').first().textContent()).toContain('vera');
    // A name that is nobody's is refused on the page.
    await page.getByLabel('User or group').fill('nobody-here');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('No user or group is named "nobody-here"');
    await page.getByLabel('Vanity path').fill('/sales-q3/');
    await page.getByRole('button', { name: 'Save path' }).click();
    await page.waitForURL(`${t.url}/apps/${report}/access?saved=1`);
    // Locked, once confirmed: viewers get the message, not the content; unlocked, the content again.
    const asVera = async () => (await fetch(`${t.contentUrl}/content/${report}/`, { headers: { authorization: `Key ${vera.key}` } })).text();
    await page.getByLabel('Message for viewers while it is locked').fill('Being revised <until Monday>');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    await page.waitForURL(`${t.url}/apps/${report}/access?saved=1`);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}`, { key: alice.key })).body).toMatchObject({
      locked: true,
      locked_message: 'Being revised <until Monday>',
    });
    const lockedPage = await asVera();
    expect(lockedPage).toContain('Being revised &lt;until Monday&gt;');
    expect(lockedPage).not.toContain('<h1>Hello</h1>');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.waitForURL(`${t.url}/apps/${report}/access?saved=1`);
    expect(await asVera()).toContain('<h1>Hello</h1>');
    await page.close();
    // vera sees it, at its vanity path too; walt, not on the list, does not.
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}`, { key: vera.key })).status).toBe(200);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}`, { key: walt.key })).status).toBe(404);
    const viaVanity = await fetch(`${t.contentUrl}/sales-q3/`, { headers: { authorization: `Key ${vera.key}` } });
    expect(await viaVanity.text()).toContain('<h1>Hello</h1>');
  });

  it('lets a publisher roll back to an earlier bundle, download one and delete another', async () => {
    const { t, alice, report } = await published();
    // A second bundle, now active: the report says "Second".
    const second = await makeBundle({ 'index.html': '<html><body><h1>Second</h1></body></html>' }, { appmode: 'static', primary_html: 'index.html' });
    const up = await uploadChunked(t.url, `/__api__/v1/content/${report}/bundles`, alice.key, second);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${report}/deploy`, { key: alice.key, body: { bundle_id: up.body.id } });
    expect((await followTaskV1(t.url, alice.key, dep.body.task_id)).code).toBe(0);
    const page = await browser.newPage();
    await page.goto(`${t.url}/apps/${report}/bundles`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/apps/${report}/bundles`);
    const frameHeading = () => page.frameLocator('iframe.content-frame').locator('h1').textContent();
    await expect.poll(frameHeading, { timeout: 15_000 }).toBe('Second');
    const bundles = (await api(t.url, 'GET', `/__api__/v1/content/${report}/bundles`, { key: alice.key })).body as Array<{ id: string }>;
    const first = bundles.map((b) => b.id).sort((a, b) => Number(a) - Number(b))[0]!;
    // Download works with the browser's session.
    const download = await page.request.get(`${t.url}/__api__/v1/content/${report}/bundles/${first}/download`);
    expect(download.status()).toBe(200);
    expect((await download.body()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    await page.getByRole('button', { name: `Activate bundle ${first}` }).click();
    await page.waitForURL(/\/bundles\?task=/);
    await expect
      .poll(async () => (await api(t.url, 'GET', `/__api__/v1/content/${report}`, { key: alice.key })).body.bundle_id, { timeout: 30_000 })
      .toBe(first);
    await page.goto(`${t.url}/apps/${report}/bundles`);
    await expect.poll(frameHeading, { timeout: 15_000 }).toBe('Hello');
    // The bundle no longer active can go, once the publisher confirms; the active one offers no delete.
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: `Delete bundle ${up.body.id}` }).click();
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}/bundles`, { key: alice.key })).body).toHaveLength(2);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: `Delete bundle ${up.body.id}` }).click();
    await page.waitForURL(`${t.url}/apps/${report}/bundles?saved=1`);
    expect(await page.getByRole('button', { name: `Delete bundle ${first}` }).count()).toBe(0);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}/bundles`, { key: alice.key })).body.map((b: { id: string }) => b.id)).toEqual([first]);
    await page.close();
  });

  it("follows a running API's log live in its page, and changes how it runs", async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    // An API that prints a line per request, as a real one logs what it serves.
    const app =
      "from flask import Flask, request\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    print('served', request.args.get('marker'), flush=True)\n    return 'ok'\n";
    const bundle = await makeBundle(
      { 'requirements.txt': 'flask\n', 'app.py': app },
      { appmode: 'python-api', entrypoint: 'app:app' },
      { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
    );
    const api1 = await deployBundle(t.url, alice.key, 'printing-api', bundle, { title: 'Printing API' });
    expect(api1.task.code, api1.log).toBe(0);
    const call = (marker: string) =>
      fetch(`${t!.contentUrl}/content/${api1.content.guid}/?marker=${marker}`, { headers: { authorization: `Key ${alice.key}` } });
    expect((await call('first')).status).toBe(200);
    const page = await browser.newPage();
    // The first stream breaks (as a proxy's idle cut would): the reader starts it again in place.
    await page.route('**/tail', (route) => route.abort());
    await page.goto(`${t.url}/apps/${api1.content.guid}/logs`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/apps/${api1.content.guid}/logs`);
    await expect.poll(() => page.locator('#log-status').textContent()).toBe('The log stream stopped.');
    await page.unroute('**/tail');
    await page.getByRole('button', { name: 'Follow again' }).click();
    const log = page.getByLabel('Log of the selected job');
    await expect.poll(() => log.textContent(), { timeout: 15_000 }).toContain('served first');
    // A request made now shows up in the open page, without a reload.
    expect((await call('second')).status).toBe(200);
    await expect.poll(() => log.textContent(), { timeout: 15_000 }).toContain('served second');
    expect(await page.getByRole('status').filter({ hasText: 'Following' }).count()).toBe(1);
    // Its runtime settings: saved through the same checks as the API, the server's ceiling included.
    await openTab(page, 'Runtime');
    await page.getByLabel('Maximum processes').fill('2');
    await page.getByLabel('Load factor (0 to 1)').fill('0.5');
    await page.getByLabel('Memory limit (MB)').fill('512');
    await page.getByRole('button', { name: 'Save runtime' }).click();
    await page.waitForURL(`${t.url}/apps/${api1.content.guid}/runtime?saved=1`);
    const saved = (await api(t.url, 'GET', `/__api__/v1/content/${api1.content.guid}`, { key: alice.key })).body;
    expect(saved).toMatchObject({ max_processes: 2, load_factor: 0.5, memory_limit: 512 * 1024 * 1024, min_processes: null });
    await page.getByLabel('Maximum processes').fill('50');
    await page.getByRole('button', { name: 'Save runtime' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/max_processes|processes/);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${api1.content.guid}`, { key: alice.key })).body.max_processes).toBe(2);
    await page.close();
  });

  it('lets a publisher tag an item and untag it, and the catalog follows', async () => {
    const { t, alice } = await published();
    const churn = (await api(t.url, 'GET', '/__api__/v1/content?name=churn-model', { key: alice.key })).body[0].guid as string;
    const page = await browser.newPage();
    await page.goto(`${t.url}/apps/${churn}`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/apps/${churn}`);
    await openTab(page, 'Tags');
    // Categories are not offered: only tags may go on content.
    expect(await page.getByLabel('Add a tag').locator('option').allTextContents()).toEqual(['Finance/Q3']);
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.waitForURL(`${t.url}/apps/${churn}/tags?saved=1`);
    await page.goto(`${t.url}/?tag=Finance%2FQ3`);
    expect((await page.locator('#results .item-title').allTextContents()).sort()).toEqual(['Churn model', 'Quarterly sales']);
    await page.goto(`${t.url}/apps/${churn}/tags`);
    await page.getByRole('button', { name: 'Remove tag Finance/Q3' }).click();
    await page.waitForURL(`${t.url}/apps/${churn}/tags?saved=1`);
    await page.goto(`${t.url}/?tag=Finance%2FQ3`);
    expect(await page.locator('#results .item-title').allTextContents()).toEqual(['Quarterly sales']);
    await page.close();
  });

  it("lets a publisher set and remove an item's variables, whose values are never shown", async () => {
    const { t, alice, report } = await published();
    const page = await browser.newPage();
    await page.goto(`${t.url}/apps/${report}/variables`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/apps/${report}/variables`);
    await page.getByLabel('Name', { exact: true }).fill('API_TOKEN');
    await page.getByLabel('Value', { exact: true }).fill('s3cr3t-value');
    await page.getByRole('button', { name: 'Set variable' }).click();
    await page.waitForURL(`${t.url}/apps/${report}/variables?saved=1`);
    expect(await page.content()).not.toContain('s3cr3t-value');
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}/environment`, { key: alice.key })).body).toEqual(['API_TOKEN']);
    // A name Lectern keeps for itself is refused on the page.
    await page.getByLabel('Name', { exact: true }).fill('CONNECT_SERVER');
    await page.getByLabel('Value', { exact: true }).fill('x');
    await page.getByRole('button', { name: 'Set variable' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid environment variable name');
    await page.getByRole('button', { name: 'Remove variable API_TOKEN' }).click();
    await page.waitForURL(`${t.url}/apps/${report}/variables?saved=1`);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${report}/environment`, { key: alice.key })).body).toEqual([]);
    await page.close();
  });

  /** alice's rendered notebook, and a browser in New York logged in as her on its page. */
  async function notebookInNewYork() {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const nb = await deployBundle(t.url, alice.key, 'notebook', fixture('py-jupyter-static.tar.gz'), { title: 'Notebook' });
    expect(nb.task.code, nb.log).toBe(0);
    const context = await browser.newContext({ timezoneId: 'America/New_York', locale: 'en-US' });
    const page = await context.newPage();
    const guid = nb.content.guid as string;
    await page.goto(`${t.url}/apps/${guid}`);
    await logIn(page, 'alice', alice.password);
    await page.waitForURL(`${t.url}/apps/${guid}`);
    return { t, alice, guid, page, context };
  }

  it('lets a publisher schedule a report and read its next runs in their own time zone, in a tab opened in place', async () => {
    const { t, alice, guid, page, context } = await notebookInNewYork();
    // Tabs switch in place (the page is not loaded again) and carry only the open tab's settings.
    await page.evaluate(() => Object.assign(window, { samePage: true }));
    await openTab(page, 'Schedule');
    expect(await page.evaluate(() => (window as unknown as { samePage?: boolean }).samePage)).toBe(true);
    expect(await page.getByRole('heading', { name: 'Info' }).count()).toBe(0);
    expect(await page.getByText('Not rendered on a schedule.').count()).toBe(1);
    // A new schedule starts in the reader's zone; the form shows the fields its rule uses.
    expect(await page.getByLabel('In the time zone').inputValue()).toBe('America/New_York');
    await page.getByLabel('Repeat').selectOption('dayofweek');
    expect(await page.getByLabel(/Day of the month/).isVisible()).toBe(false);
    // No day chosen: refused on the page with the reason.
    await page.getByRole('checkbox', { name: 'Monday' }).uncheck();
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('days: must name at least one day');
    await page.getByLabel('Repeat').selectOption('dayofweek');
    await page.getByRole('checkbox', { name: 'Monday' }).check();
    await page.getByRole('checkbox', { name: 'Wednesday' }).check();
    await page.getByLabel('In the time zone').selectOption('Europe/Berlin');
    await page.getByLabel(/First run/).fill('2030-01-07T09:00');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.waitForURL(/\/schedule\?variant=\d+&saved=1$/);
    const variant = (await api(t.url, 'GET', `/__api__/applications/${guid}/variants`, { key: alice.key })).body[0];
    const [saved] = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/schedules`, { key: alice.key })).body;
    expect(saved).toMatchObject({ type: 'dayofweek', timezone: 'Europe/Berlin', start_time: '2030-01-07T08:00:00Z', next_run: '2030-01-07T08:00:00Z' });
    expect(JSON.parse(saved.schedule)).toEqual({ Days: [1, 3] });
    // Berlin's 09:00 in January is 03:00 in New York, where the reader is.
    expect(await page.getByText('Every Monday, Wednesday').count()).toBe(1);
    const runs = page.locator('ol.runs time');
    expect(await runs.count()).toBe(5);
    expect(await runs.first().getAttribute('datetime')).toBe('2030-01-07T08:00:00.000Z');
    expect(await runs.first().textContent()).toMatch(/^Mon, Jan 7, 2030, 3:00\sAM$/);
    expect(await runs.nth(1).textContent()).toMatch(/^Wed, Jan 9, 2030, 3:00\sAM$/);
    expect(await page.getByText('Times are shown in your time zone, America/New_York.').count()).toBe(1);
    // The saved rule comes back into the form as it was chosen.
    expect(await page.getByLabel('In the time zone').inputValue()).toBe('Europe/Berlin');
    expect(await page.getByLabel(/First run/).inputValue()).toBe('2030-01-07T09:00');
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      expect(await axeProblems(page), `schedule tab, ${colorScheme}`).toEqual([]);
    }
    // Removing it asks first.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove schedule' }).click();
    await page.waitForURL(/\/schedule\?variant=\d+&saved=1$/);
    expect((await api(t.url, 'GET', `/__api__/variants/${variant.id}/schedules`, { key: alice.key })).body).toEqual([]);
    await context.close();
  });

  it('lets a publisher save a variant with its own parameters, render it now and delete it', async () => {
    const { t, alice, guid, page, context } = await notebookInNewYork();
    await openTab(page, 'Parameters');
    await page.getByLabel('Name', { exact: true }).fill('EMEA');
    await page.getByLabel('Parameters of the new variant').fill('{"region": "EMEA"');
    await page.getByRole('button', { name: 'Save variant' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('write a JSON object');
    await page.getByLabel('Name', { exact: true }).fill('EMEA');
    await page.getByLabel('Parameters of the new variant').fill('{"region": "EMEA", "year": 2026}');
    await page.getByRole('button', { name: 'Save variant' }).click();
    await page.waitForURL(`${t.url}/apps/${guid}/parameters?saved=1`);
    const variants = async () => (await api(t.url, 'GET', `/__api__/applications/${guid}/variants`, { key: alice.key })).body as Array<Record<string, unknown>>;
    const emea = (await variants()).find((v) => v.name === 'EMEA')!;
    expect(emea).toMatchObject({ parameters: { region: 'EMEA', year: 2026 }, visibility: 'private', is_default: false });
    // Its values come back in its own box; changing them is saved.
    await page.getByLabel('Parameters of EMEA').fill('{"region": "APAC"}');
    await page.getByRole('button', { name: 'Save EMEA' }).click();
    await page.waitForURL(`${t.url}/apps/${guid}/parameters?saved=1`);
    expect((await variants()).find((v) => v.id === emea.id)!.parameters).toEqual({ region: 'APAC' });
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      expect(await axeProblems(page), `parameters tab, ${colorScheme}`).toEqual([]);
    }
    // Rendered now, on this server: the render succeeds.
    await page.getByRole('button', { name: 'Render EMEA now' }).click();
    await page.waitForURL(/\/parameters\?task=/);
    await expect
      .poll(
        async () => (await api(t.url, 'GET', `/__api__/variants/${emea.id}/renderings`, { key: alice.key })).body.map((r: { status: string }) => r.status),
        {
          timeout: 60_000,
        },
      )
      .toContain('succeeded');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete EMEA' }).click();
    await page.waitForURL(`${t.url}/apps/${guid}/parameters?saved=1`);
    expect((await variants()).map((v) => v.name)).toEqual(['default']);
    await context.close();
  });

  it("lets a viewer subscribe to a rendered report's email and unsubscribe", async () => {
    t = await startTestServer(kind);
    const alice = await t.createUser('alice', 'publisher');
    const vera = await t.createUser('vera', 'viewer');
    const nb = await deployBundle(t.url, alice.key, 'notebook', fixture('py-jupyter-static.tar.gz'), { title: 'Notebook' });
    expect(nb.task.code, nb.log).toBe(0);
    await api(t.url, 'PATCH', `/__api__/v1/content/${nb.content.guid}`, { key: alice.key, body: { access_type: 'logged_in' } });
    const variant = (await api(t.url, 'GET', `/__api__/applications/${nb.content.guid}/variants`, { key: alice.key })).body[0];
    const subscribers = async () =>
      ((await api(t!.url, 'GET', `/__api__/variants/${variant.id}/subscribers`, { key: alice.key })).body as Array<{ username: string }>).map(
        (u) => u.username,
      );
    const page = await browser.newPage();
    await page.goto(`${t.url}/apps/${nb.content.guid}`);
    await logIn(page, 'vera', vera.password);
    await page.waitForURL(`${t.url}/apps/${nb.content.guid}`);
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.waitForURL(`${t.url}/apps/${nb.content.guid}/email?saved=1`);
    expect(await page.getByRole('region', { name: 'Email' }).textContent()).toContain('You get this report by email');
    expect(await subscribers()).toEqual(['vera']);
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.waitForURL(`${t.url}/apps/${nb.content.guid}/email?saved=1`);
    expect(await subscribers()).toEqual([]);
    await page.close();
  });
});
