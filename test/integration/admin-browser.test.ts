import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LECTERN_VERSION } from '../../src/version.ts';
import { ADMIN_PAGES, loggedIn, tableRows } from '../helpers/admin.ts';
import { fixture } from '../helpers/bundles.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { axeProblems, logIn } from '../helpers/dashboard.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

const HOUR = 3_600_000;

describe.each(DATABASES)("the administrator's pages in a real browser (%s)", (kind) => {
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

  async function server() {
    t = await startTestServer(kind);
    const root = await t.createUser('root', 'administrator');
    const vera = await t.createUser('vera', 'viewer');
    const alice = await t.createUser('alice', 'publisher');
    return { t, root: { ...root, username: 'root' }, vera: { ...vera, username: 'vera' }, alice: { ...alice, username: 'alice' } };
  }

  it("resets a user's password: shown once, and the user must change it at login", async () => {
    const { t, root, vera } = await server();
    const page = await loggedIn(browser, t, root, '/admin/users');
    // The header's Admin entry and the admin sub-navigation.
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).getAttribute('href')).toBe('/admin/users');
    const sub = page.getByRole('navigation', { name: 'Administration' });
    expect(await sub.getByRole('link').allTextContents()).toEqual(['Users', 'Groups', 'Content', 'Schedules', 'Audit log', 'Status']);
    expect(await sub.locator('[aria-current=page]').textContent()).toBe('Users');

    await page.getByRole('button', { name: 'Reset password of vera' }).click();
    await page.waitForURL(/\/admin\/users\/[0-9a-f-]+\/password$/);
    const password = (await page.locator('#new-password').textContent())!.trim();
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    // The old password no longer works; the new one does, and the page to change it comes first.
    const theirs = await browser.newPage();
    await theirs.goto(`${t.url}/login`);
    await logIn(theirs, 'vera', vera.password);
    await expect.poll(() => theirs.getByRole('alert').count()).toBeGreaterThan(0);
    await logIn(theirs, 'vera', password);
    await theirs.waitForURL(`${t.url}/password`);
    await theirs.goto(`${t.url}/`);
    await theirs.waitForURL(`${t.url}/password`);
    // The current password is not asked for: the reset's was never hers to know.
    expect(await theirs.locator('input[name=current]').count()).toBe(0);
    await theirs.getByLabel('New password').fill('vera-new-password-1');
    await theirs.getByLabel('Repeat it').fill('vera-new-password-1');
    await theirs.getByRole('button', { name: 'Save' }).click();
    await theirs.waitForURL(`${t.url}/`);
    await theirs.close();

    // One's own password is changed knowing it, not reset: refused on the page.
    await page.goto(`${t.url}/admin/users`);
    await page.getByRole('button', { name: 'Reset password of root' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('your own password');
    const audit = await t.server.ctx.audit.recent(20, 'user.password.reset');
    expect(audit).toEqual([expect.objectContaining({ actorUserId: root.user.id, targetId: vera.user.guid })]);
    await page.context().close();
  });

  it('creates a group, adds a member by username, removes them, and deletes the group', async () => {
    const { t, root } = await server();
    const page = await loggedIn(browser, t, root, '/admin/groups');
    await page.getByLabel('Group name').fill('Data Science');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.waitForURL(/\/admin\/groups\/[0-9a-f-]{36}$/);
    expect(await page.locator('h1').textContent()).toBe('Group Data Science');
    const groupUrl = page.url();

    // An unknown name is refused on the page, with the name kept to correct.
    await page.getByLabel('Username to add').fill('nobody');
    await page.getByRole('button', { name: 'Add member' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('No user named "nobody"');
    expect(await page.getByLabel('Username to add').inputValue()).toBe('nobody');
    await page.getByLabel('Username to add').fill('vera');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.waitForURL(groupUrl);
    expect((await tableRows(page)).map((r) => r[0])).toEqual(['vera']);
    await page.getByRole('button', { name: 'Remove vera from Data Science' }).click();
    await page.waitForURL(groupUrl);
    expect(await page.locator('main table').count()).toBe(0);

    // The list finds it by the start of its name.
    await page.goto(`${t.url}/admin/groups?q=data`);
    expect((await tableRows(page)).map((r) => r[0])).toEqual(['Data Science']);
    await page.goto(groupUrl);
    // Unticked, the browser will not send the form; ticked, the group goes.
    await page.getByRole('button', { name: 'Delete group' }).click();
    expect(page.url()).toBe(groupUrl);
    await page.getByLabel(/Yes, delete Data Science/).check();
    await page.getByRole('button', { name: 'Delete group' }).click();
    await page.waitForURL(/\/admin\/groups\?deleted=/);
    expect(await page.getByRole('status').textContent()).toContain('Data Science');
    expect(await tableRows(page)).toEqual([]);
    const actions = (await t.server.ctx.audit.recent(20)).map((e) => e.action).filter((a) => a.startsWith('group.'));
    expect(actions).toEqual(['group.delete', 'group.member.remove', 'group.member.add', 'group.create']);
    await page.context().close();
  });

  it('lists every item, unpublished and not shared with the administrator included; a viewer gets 403 on every admin page', async () => {
    const { t, root, vera, alice } = await server();
    const shown = await deployBundle(t.url, alice.key, 'sales-site', fixture('py-static-html.tar.gz'), { title: 'Sales site' });
    expect(shown.task.code, shown.log).toBe(0);
    // Never deployed, and shared with nobody: only its owner and administrators may know of it.
    const draft = await api(t.url, 'POST', '/__api__/v1/content', { key: alice.key, body: { name: 'secret-draft', title: 'Secret draft' } });
    expect(draft.status).toBe(201);

    const page = await loggedIn(browser, t, root, '/admin/content');
    const rows = await tableRows(page);
    expect(rows.map((r) => [r[0], r[1], r[4]]).sort()).toEqual([
      ['Sales site (sales-site)', 'alice', 'published'],
      ['Secret draft (secret-draft)', 'alice', 'unpublished'],
    ]);
    expect(rows.find((r) => r[0]!.startsWith('Secret'))![3]).toBe('never');
    await page.getByLabel('Unpublished only').check();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/unpublished=1/);
    expect((await tableRows(page)).map((r) => r[0])).toEqual(['Secret draft (secret-draft)']);
    await page.getByLabel(/^Search/).fill('sales');
    await page.getByLabel('Unpublished only').uncheck();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/q=sales/);
    expect((await tableRows(page)).map((r) => r[0])).toEqual(['Sales site (sales-site)']);
    await page.goto(`${t.url}/admin/content?unpublished=1`);
    await page.getByRole('link', { name: 'Secret draft' }).click();
    await page.waitForURL(`${t.url}/apps/${draft.body.guid}`);
    await page.context().close();

    const viewer = await loggedIn(browser, t, vera, '/');
    for (const path of [...ADMIN_PAGES, `/admin/groups/${vera.user.guid}`]) {
      expect((await viewer.goto(`${t.url}${path}`))!.status(), path).toBe(403);
    }
    // Nor can a viewer post to them (the guard comes before the form is read).
    const posted = await viewer.evaluate(async () => (await fetch('/admin/groups', { method: 'POST', body: new URLSearchParams({ name: 'x' }) })).status);
    expect(posted).toBe(403);
    expect(await viewer.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await viewer.context().close();
  });

  it("shows every schedule's runs over the coming week, in the viewer's time zone", async () => {
    const { t, root, alice } = await server();
    const nb = await deployBundle(t.url, alice.key, 'notebook', fixture('py-jupyter-static.tar.gz'), { title: 'Morning notebook' });
    expect(nb.task.code, nb.log).toBe(0);
    const variant = (await api(t.url, 'GET', `/__api__/applications/${nb.content.guid}/variants`, { key: alice.key })).body[0];
    // Every 6 hours from an hour ago: 28 runs in the next 7 days.
    const start = new Date(Math.floor(Date.now() / HOUR) * HOUR - HOUR);
    const made = await api(t.url, 'POST', '/__api__/schedules', {
      key: alice.key,
      body: {
        app_id: variant.app_id,
        variant_id: variant.id,
        type: 'hour',
        schedule: '{"N": 6}',
        start_time: start.toISOString(),
        timezone: 'America/New_York',
      },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(200);

    const page = await loggedIn(browser, t, root, '/admin/schedules', { timezoneId: 'Asia/Tokyo', locale: 'en-US' });
    const [row] = await tableRows(page);
    expect(row!.slice(0, 4)).toEqual(['Morning notebook', 'default', 'Every 6 hours', 'America/New_York']);
    expect(row![5]).toBe('28');
    // The script ran: times in Tokyo's zone, the agenda regrouped by Tokyo's days.
    expect(await page.locator('[data-zone]').textContent()).toBe('Times are shown in your time zone, Asia/Tokyo.');
    const runs = page.locator('#agenda li[data-run]');
    expect(await runs.count()).toBe(28);
    const first = new Date(start.getTime() + 6 * HOUR);
    const firstIso = (await runs.first().locator('time').getAttribute('datetime'))!;
    expect(new Date(firstIso).getTime()).toBe(first.getTime());
    const tokyo = new Intl.DateTimeFormat('en-US', { timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(first);
    expect((await runs.first().locator('time').textContent())!.trim()).toBe(tokyo);
    expect(await runs.first().getByRole('link').textContent()).toBe('Morning notebook');
    const dayKeys = await page.locator('#agenda [data-day] time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
    const tokyoDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(first);
    expect(dayKeys[0]).toBe(tokyoDay);
    await page.context().close();

    // Without the script, UTC: the fallback text the server wrote.
    const plain = await loggedIn(browser, t, root, '/admin/schedules', { javaScriptEnabled: false });
    expect((await plain.locator('#agenda li[data-run] time').first().textContent())!.trim()).toBe(`${first.toISOString().replace('T', ' ').slice(0, 16)} UTC`);
    await plain.context().close();
  });

  it('filters the audit log by action and by user, and pages to older entries', async () => {
    const { t, root, alice } = await server();
    // 60 groups made by root (through the API), and one by alice.
    for (let i = 0; i < 60; i++) expect((await api(t.url, 'POST', '/__api__/v1/groups', { key: root.key, body: { name: `team-${i}` } })).status).toBe(201);
    expect((await api(t.url, 'POST', '/__api__/v1/groups', { key: alice.key, body: { name: 'alices' } })).status).toBe(201);

    const page = await loggedIn(browser, t, root, '/admin/audit');
    await page.getByLabel('Action').selectOption('group.create');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=group.create/);
    let rows = await tableRows(page);
    expect(rows).toHaveLength(50);
    expect(new Set(rows.map((r) => r[2]))).toEqual(new Set(['group.create']));
    // Newest first: alice's was the last made.
    expect(rows[0]![1]).toBe('alice');
    expect(rows[0]![5]).toContain('"name":"alices"');
    const firstPageIds = await page.locator('main table tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-id'))));
    await page.getByRole('link', { name: 'Older' }).click();
    await page.waitForURL(/before=\d+/);
    rows = await tableRows(page);
    expect(rows).toHaveLength(11);
    const olderIds = await page.locator('main table tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-id'))));
    expect(Math.max(...olderIds)).toBeLessThan(Math.min(...firstPageIds));
    expect(rows.at(-1)![5]).toContain('"name":"team-0"');
    expect(await page.getByRole('link', { name: 'Older' }).count()).toBe(0);

    // By user: alice's entries only (her group; the filter keeps the action).
    await page.getByLabel('User').fill('alice');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/user=alice/);
    rows = await tableRows(page);
    expect(rows.map((r) => [r[1], r[2]])).toEqual([['alice', 'group.create']]);
    // Any action by root includes the logins through this browser.
    await page.goto(`${t.url}/admin/audit?user=root`);
    rows = await tableRows(page);
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['root']));
    expect(rows.map((r) => r[2])).toContain('login.success');
    expect(rows.find((r) => r[2] === 'login.success')![4]).toBe('127.0.0.1');
    // A date range: today's entries are all there; none from before today.
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${t.url}/admin/audit?action=group.create&from=${today}&to=${today}`);
    expect(await tableRows(page)).toHaveLength(50);
    await page.goto(`${t.url}/admin/audit?action=group.create&to=${yesterday}`);
    expect(await page.getByText('No entries match.').count()).toBe(1);
    await page.goto(`${t.url}/admin/audit?user=nobody`);
    expect(await page.locator('.warnings').textContent()).toContain("No user is named 'nobody'");
    await page.context().close();
  });

  it("reads the server's status", async () => {
    const { t, root } = await server();
    const page = await loggedIn(browser, t, root, '/admin/status');
    expect(await page.locator('#status-version').textContent()).toBe(LECTERN_VERSION);
    const facts = await page
      .locator('main dl.facts')
      .first()
      .evaluate((dl) => {
        const out: Record<string, string> = {};
        dl.querySelectorAll('dt').forEach((dt) => (out[dt.textContent!] = dt.nextElementSibling!.textContent!.trim()));
        return out;
      });
    expect(facts).toMatchObject({
      Database: kind === 'postgres' ? 'PostgreSQL' : 'SQLite',
      'Execution backend': 'local',
      Users: '4',
      'Content items': '0',
      'Running processes': '0',
    });
    expect(facts['Up for']).toMatch(/^\d+ min$/);
    expect(await page.locator('#disk-free').textContent()).toMatch(/^[\d.]+ [KMGTP]iB of [\d.]+ [KMGTP]iB \(\d+% free\)$/);
    const runtimes = await tableRows(page);
    expect(runtimes.some((r) => r[0] === 'Python' && /^\d+\.\d+/.test(r[1]!))).toBe(true);
    await page.context().close();
  });

  it('has no serious accessibility problem on any admin page, in light and dark', async () => {
    const { t, root, vera } = await server();
    const g = await api(t.url, 'POST', '/__api__/v1/groups', { key: root.key, body: { name: 'Readers' } });
    await api(t.url, 'POST', `/__api__/v1/groups/${g.body.guid}/members`, { key: root.key, body: { user_guid: vera.user.guid } });
    await api(t.url, 'POST', '/__api__/v1/content', { key: root.key, body: { name: 'draft-one' } });
    // A scheduled report, so the schedules page has its table and agenda to check.
    const nb = await deployBundle(t.url, root.key, 'notebook', fixture('py-jupyter-static.tar.gz'));
    expect(nb.task.code, nb.log).toBe(0);
    const variant = (await api(t.url, 'GET', `/__api__/applications/${nb.content.guid}/variants`, { key: root.key })).body[0];
    const made = await api(t.url, 'POST', '/__api__/schedules', {
      key: root.key,
      body: { app_id: variant.app_id, variant_id: variant.id, type: 'day', schedule: '{"N": 1}', timezone: 'Europe/Berlin' },
    });
    expect(made.status).toBe(200);
    const pages = [...ADMIN_PAGES, `/admin/groups/${g.body.guid}`];
    for (const scheme of ['light', 'dark'] as const) {
      const page = await loggedIn(browser, t, root, '/admin/users', { colorScheme: scheme });
      for (const path of pages) {
        await page.goto(`${t.url}${path}`);
        expect(await axeProblems(page), `${path}, ${scheme}`).toEqual([]);
      }
      // The reset's answer page too.
      await page.goto(`${t.url}/admin/users`);
      await page.getByRole('button', { name: 'Reset password of vera' }).click();
      await page.waitForURL(/\/password$/);
      expect(await axeProblems(page), `password reset, ${scheme}`).toEqual([]);
      await page.context().close();
    }
  });
});
