import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';
import { TestClock } from '../helpers/test-clock.ts';

// The scheduler's own timer stays out of the way: tests call tick() with a clock they move.
const QUIET = { reports: QUIET_SCHEDULER };
const MINUTE = 60_000;

const REPORT = `---
title: "Sales"
params:
  region: north
---

Region: \`r params$region\`; report \`r Sys.getenv("RSC_REPORT_NAME")\`.
`;

describe.each(DATABASES)('rendered reports: variants, history, schedules (%s)', (kind) => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function notebook(clock?: TestClock) {
    t = await startTestServer(kind, { config: QUIET, clock: clock?.now });
    const pub = await t.createUser('pub', 'publisher');
    const d = await deployBundle(t.url, pub.key, 'notebook', fixture('py-jupyter-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const variants = await api(t.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key });
    expect(variants.status).toBe(200);
    return { t, pub, d, variant: variants.body[0] };
  }

  it('gives a deployed report one default variant whose deploy render is its first rendering', async () => {
    const { t, pub, d, variant } = await notebook();
    expect(variant).toMatchObject({ app_id: Number(d.content.id), is_default: true, name: 'default', visibility: 'public', owner_id: 0 });
    expect(variant.key).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(typeof variant.rendering_id).toBe('number');
    expect(variant.render_time).toMatch(/Z$/);
    const history = await api(t.url, 'GET', `/__api__/variants/${variant.id}/renderings`, { key: pub.key });
    expect(history.body).toEqual([expect.objectContaining({ id: variant.rendering_id, active: true, trigger: 'deploy', bundle_id: Number(d.bundleId) })]);
    expect((await api(t.url, 'GET', `/__api__/variants/${variant.id}`, { key: pub.key })).body.id).toBe(variant.id);
  });

  it('renders on demand as tasks (two at once both finish), keeps each render at its own _rev URL, and serves the newest', async () => {
    const { t, pub, d, variant } = await notebook();
    const [a, b] = await Promise.all([
      api(t.url, 'POST', `/__api__/variants/${variant.id}/render`, { key: pub.key }),
      api(t.url, 'POST', `/__api__/variants/${variant.id}/render`, { key: pub.key, body: {} }),
    ]);
    for (const r of [a, b]) {
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ finished: false, code: 0, status: [], last_status: 0 });
      const done = await followTaskV1(t.url, pub.key, r.body.id);
      expect(done.code, done.output.join('\n')).toBe(0);
    }
    const history = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/renderings`, { key: pub.key })).body;
    expect(history).toHaveLength(3);
    const newest = Math.max(...history.map((h: { id: number }) => h.id));
    expect(history.filter((h: { active: boolean }) => h.active).map((h: { id: number }) => h.id)).toEqual([newest]);
    expect((await api(t.url, 'GET', `/__api__/variants/${variant.id}`, { key: pub.key })).body.rendering_id).toBe(newest);
    // Every render is reachable at its own address; an unknown one is a 404.
    for (const h of history) expect((await get(`${d.content.content_url}_rev${h.id}/`, pub.key)).status).toBe(200);
    expect((await get(`${d.content.content_url}_rev999999/`, pub.key)).status).toBe(404);
    expect((await get(d.content.content_url, pub.key)).status).toBe(200);
    // The renders are jobs of the item too.
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key: pub.key });
    expect(jobs.body.length).toBeGreaterThan(1);
  });

  it('prunes render history to the configured number, never the current one', async () => {
    t = await startTestServer(kind, { config: { reports: { ...QUIET_SCHEDULER, keepRenderings: 2 } } });
    const pub = await t.createUser('pub', 'publisher');
    const d = await deployBundle(t.url, pub.key, 'notebook', fixture('py-jupyter-static.tar.gz'));
    const variant = (await api(t.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key })).body[0];
    const first = variant.rendering_id;
    // Where each render's files are (the deploy's render lives with its bundle, not here).
    const dirs = new Map<number, string>();
    for (let i = 0; i < 3; i++) {
      const r = await api(t.url, 'POST', `/__api__/variants/${variant.id}/render`, { key: pub.key });
      expect((await followTaskV1(t.url, pub.key, r.body.id)).code).toBe(0);
      for (const x of await t.server.ctx.repos.renderings.forVariant(variant.id)) {
        const dir = x.outputPath ? t.server.ctx.runtime.reports.outputDir(x.outputPath) : null;
        if (dir) dirs.set(x.id, dir);
      }
    }
    const history = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/renderings`, { key: pub.key })).body;
    expect(history).toHaveLength(2);
    expect(history.some((h: { active: boolean }) => h.active)).toBe(true);
    expect((await get(`${d.content.content_url}_rev${first}/`, pub.key)).status).toBe(404);
    // A pruned render's files go with it; the kept ones stay.
    const kept = new Set(history.map((h: { id: number }) => h.id));
    expect(dirs.size).toBeGreaterThanOrEqual(3);
    for (const [id, dir] of dirs) expect(existsSync(dir), `render ${id}`).toBe(kept.has(id));
  });

  it('lets only the people who manage a report render or schedule it; viewers read its variants', async () => {
    const { t, pub, d, variant } = await notebook();
    const viewer = await t.createUser('viewer', 'viewer');
    const stranger = await t.createUser('stranger', 'viewer');
    await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/permissions`, {
      key: pub.key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    expect((await api(t.url, 'GET', `/__api__/variants/${variant.id}`, { key: viewer.key })).status).toBe(200);
    expect((await api(t.url, 'POST', `/__api__/variants/${variant.id}/render`, { key: viewer.key })).status).toBe(403);
    expect((await api(t.url, 'GET', `/__api__/variants/${variant.id}`, { key: stranger.key })).status).toBe(404);
    const body = { app_id: variant.app_id, variant_id: variant.id, type: 'day', schedule: '{"N": 1}' };
    expect((await api(t.url, 'POST', '/__api__/schedules', { key: viewer.key, body })).status).toBe(403);
    // A saved variant is another render of publisher code: viewers cannot make one, even private.
    const own = await api(t.url, 'POST', `/__api__/applications/${d.content.guid}/variants`, {
      key: viewer.key,
      body: { name: 'mine', parameters: {}, visibility: 'private' },
    });
    expect(own.status).toBe(403);
  });

  it('keeps a schedule per variant with Connect’s fields, checks it, and replaces it in full', async () => {
    const clock = new TestClock('2026-03-02T12:00:00Z');
    const { t, pub, variant } = await notebook(clock);
    const base = { app_id: variant.app_id, variant_id: variant.id };
    const created = await api(t.url, 'POST', '/__api__/schedules', {
      key: pub.key,
      body: { ...base, type: 'day', schedule: '{"N": 2}', start_time: '2026-01-01T09:00:00Z', timezone: 'America/New_York' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({
      ...base,
      type: 'day',
      schedule: '{"N": 2}',
      start_time: '2026-01-01T09:00:00Z',
      timezone: 'America/New_York',
      activate: true,
      email: false,
    });
    // 09:00 UTC is 04:00 in New York: every second day from 1 January at 04:00 local; 2 March's has passed.
    expect(created.body.next_run).toBe('2026-03-04T09:00:00Z');
    const listed = await api(t.url, 'GET', `/__api__/variants/${variant.id}/schedules`, { key: pub.key });
    expect(listed.body).toEqual([created.body]);
    const again = await api(t.url, 'POST', '/__api__/schedules', { key: pub.key, body: { ...base, type: 'day', schedule: '{"N": 1}' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe(102);
    // connectapi sends the record back with its own fields; omitted email resets to false.
    const updated = await api(t.url, 'POST', `/__api__/schedules/${created.body.id}`, {
      key: pub.key,
      body: { ...created.body, type: 'week', schedule: '{"N": 1}', email: true, app_guid: 'x', variant_key: variant.key },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, type: 'week', email: true, activate: true, start_time: '2026-01-01T09:00:00Z' });
    const upcoming = await api(t.url, 'GET', '/__api__/v1/experimental/schedules?detailed=true&start=2026-03-01T00:00:00Z&end=2026-04-01T00:00:00Z', {
      key: pub.key,
    });
    expect(upcoming.body.schedules).toEqual([expect.objectContaining({ id: created.body.id, variant_key: variant.key })]);
    expect((await api(t.url, 'DELETE', `/__api__/schedules/${created.body.id}`, { key: pub.key })).status).toBe(204);
    const audited = (await t.server.ctx.audit.recent(50)).filter((e) => e.targetType === 'schedule').map((e) => e.action);
    expect(audited.sort()).toEqual(['schedule.create', 'schedule.delete', 'schedule.update']);
    expect((await api(t.url, 'GET', `/__api__/variants/${variant.id}/schedules`, { key: pub.key })).body).toEqual([]);
    const gone = await api(t.url, 'DELETE', `/__api__/schedules/${created.body.id}`, { key: pub.key });
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ code: expect.any(Number), error: expect.any(String) });
  });

  it('refuses bad schedules with a 400 naming the problem, in Connect’s error shape', async () => {
    const { t, pub, variant } = await notebook();
    const base = { app_id: variant.app_id, variant_id: variant.id };
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ type: 'fortnight', schedule: '{}' }, 245, /type: must be one of/],
      [{ type: 'minute', schedule: '{"N": 0}' }, 245, /schedule\.N/],
      [{ type: 'minute', schedule: 'not json' }, 245, /not valid JSON/],
      [{ type: 'day', schedule: '{"N": 1}', timezone: 'Mars/Olympus' }, 245, /timezone/],
      [{ type: 'day', schedule: '{"N": 1}', start_time: 'yesterday' }, 37, /start_time/],
      [{ type: 'day', schedule: 5 }, 25, /schedule/],
    ];
    for (const [body, code, message] of cases) {
      const res = await api(t.url, 'POST', '/__api__/schedules', { key: pub.key, body: { ...base, ...body } });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code, JSON.stringify(res.body)).toBe(code);
      expect(res.body.error).toMatch(message);
    }
    expect((await api(t.url, 'POST', '/__api__/schedules', { key: pub.key, body: { ...base, app_id: 999999, type: 'day', schedule: '{"N":1}' } })).status).toBe(
      400,
    );
  });

  it('lists every time zone a client may send, with its current offset', async () => {
    t = await startTestServer(kind, { config: QUIET });
    const res = await api(t.url, 'GET', '/__api__/v1/timezones', { key: t.admin.key });
    const zones = new Map((res.body as { timezone: string; offset: string }[]).map((z) => [z.timezone, z.offset]));
    expect(zones.get('UTC')).toBe('+00:00');
    expect(zones.get('Etc/UTC')).toBe('+00:00');
    expect(zones.get('Asia/Kolkata')).toBe('+05:30');
    expect(zones.has('America/New_York')).toBe(true);
    expect((await api(t.url, 'GET', '/__api__/timezones', { key: t.admin.key })).body).toEqual(res.body);
  });

  it('runs a due schedule once per slot on the clock it is given, and a missed stretch once at start', async () => {
    const clock = new TestClock(new Date(Math.floor(Date.now() / MINUTE) * MINUTE));
    const { t, pub, variant } = await notebook(clock);
    const made = await api(t.url, 'POST', '/__api__/schedules', {
      key: pub.key,
      body: { app_id: variant.app_id, variant_id: variant.id, type: 'minute', schedule: '{"N": 5}', start_time: clock.now().toISOString() },
    });
    expect(made.body.next_run).toBe(new Date(clock.now().getTime() + 5 * MINUTE).toISOString().replace('.000Z', 'Z'));
    const { scheduler } = t.server;
    clock.advance(4 * MINUTE);
    expect((await scheduler.tick()).claimed).toBe(0);
    clock.advance(MINUTE);
    expect((await scheduler.tick()).claimed).toBe(1);
    expect((await scheduler.tick()).claimed).toBe(0);
    await t.server.ctx.reports.renders.idle();
    // The server was down for an hour: one render, then the next slot after now.
    clock.advance(60 * MINUTE);
    expect((await scheduler.tick()).claimed).toBe(1);
    await t.server.ctx.reports.renders.idle();
    const history = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/renderings`, { key: pub.key })).body;
    const scheduled = history.filter((h: { trigger: string }) => h.trigger === 'schedule');
    expect(scheduled.map((h: { status: string }) => h.status)).toEqual(['succeeded', 'succeeded']);
    const s = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/schedules`, { key: pub.key })).body[0];
    expect(new Date(s.next_run).getTime()).toBe(clock.now().getTime() + 5 * MINUTE);
  });

  it('fails a render whose server died and retries it once, not twice', async () => {
    const clock = new TestClock(new Date(Math.floor(Date.now() / 1000) * 1000));
    const { t, variant } = await notebook(clock);
    const { renderings } = t.server.ctx.repos;
    const orphan = async (attempt: number) =>
      renderings.create({
        contentId: variant.app_id,
        variantId: variant.id,
        bundleId: variant.bundle_id,
        trigger: 'schedule',
        scheduleId: null,
        status: 'running',
        attempt,
        activate: true,
        email: false,
        serverId: 'a-server-that-died',
        leaseUntil: new Date(clock.now().getTime() + 30_000),
      });
    const first = await orphan(1);
    const second = await orphan(2);
    expect((await t.server.scheduler.tick()).retried).toBe(0);
    clock.advance(31_000);
    expect((await t.server.scheduler.tick()).retried).toBe(1);
    await t.server.ctx.reports.renders.idle();
    expect(await renderings.byId(first.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/stopped before it finished/) });
    expect(await renderings.byId(second.id)).toMatchObject({ status: 'failed' });
    const retries = (await renderings.forVariant(variant.id)).filter((r) => r.attempt === 2 && r.id > second.id);
    expect(retries.map((r) => r.status)).toEqual(['succeeded']);
    expect((await t.server.scheduler.tick()).retried).toBe(0);
  });

  it('renders a parameterized R Markdown report once per saved variant, each with its own values', async () => {
    t = await startTestServer(kind, { config: QUIET });
    const pub = await t.createUser('pub', 'publisher');
    const bundle = await makeBundle({ 'sales.Rmd': REPORT }, { appmode: 'rmd-static', primary_rmd: 'sales.Rmd', has_parameters: true });
    const d = await deployBundle(t.url, pub.key, 'sales', bundle, { title: 'Sales by region' });
    expect(d.task.code, d.log).toBe(0);
    expect((await get(d.content.content_url, pub.key)).text).toContain('Region: north; report Sales by region.');
    const keys: Record<string, string> = {};
    for (const region of ['south', 'east']) {
      const made = await api(t.url, 'POST', `/__api__/applications/${d.content.guid}/variants`, {
        key: pub.key,
        body: { name: region, parameters: { region }, visibility: 'public' },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      expect(made.body).toMatchObject({ is_default: false, name: region, rendering_id: null, parameters: { region } });
      const task = await api(t.url, 'POST', `/__api__/variants/${made.body.id}/render`, { key: pub.key });
      const done = await followTaskV1(t.url, pub.key, task.body.id);
      expect(done.code, done.output.join('\n')).toBe(0);
      keys[region] = made.body.key;
    }
    expect((await get(`${d.content.content_url}v${keys.south}/`, pub.key)).text).toContain('Region: south;');
    expect((await get(`${d.content.content_url}v${keys.east}/`, pub.key)).text).toContain('Region: east;');
    // The default variant still shows the document's own value.
    expect((await get(d.content.content_url, pub.key)).text).toContain('Region: north;');
    const listed = (await api(t.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key })).body;
    expect(listed.map((v: { name: string }) => v.name)).toEqual(['default', 'south', 'east']);
    // A private variant's renders stay private, even at the /_rev{id}/ address without its key.
    const hidden = await api(t.url, 'POST', `/__api__/applications/${d.content.guid}/variants`, {
      key: pub.key,
      body: { name: 'west', parameters: { region: 'west' }, visibility: 'private' },
    });
    const task = await api(t.url, 'POST', `/__api__/variants/${hidden.body.id}/render`, { key: pub.key });
    expect((await followTaskV1(t.url, pub.key, task.body.id)).code).toBe(0);
    const rev = (await api(t.url, 'GET', `/__api__/variants/${hidden.body.id}`, { key: pub.key })).body.rendering_id;
    const viewer = await t.createUser('viewer', 'viewer');
    await api(t.url, 'POST', `/__api__/v1/content/${d.content.guid}/permissions`, {
      key: pub.key,
      body: { principal_guid: viewer.user.guid, principal_type: 'user', role: 'viewer' },
    });
    expect((await get(`${d.content.content_url}_rev${rev}/`, pub.key)).text).toContain('Region: west;');
    expect((await get(`${d.content.content_url}_rev${rev}/`, viewer.key)).status).toBe(404);
    expect((await get(d.content.content_url, viewer.key)).text).toContain('Region: north;');
  });
});
