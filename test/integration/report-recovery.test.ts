import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { TestClock } from '../helpers/test-clock.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * What happens to renders when things go wrong around them: a server shut down under them, a
 * server that died, a schedule whose time zone no longer computes, and history pruned while
 * mail still needs a render's files.
 */
describe.each(DATABASES)('report renders survive shutdowns, dead servers and pruning (%s)', (kind) => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    // The last one started owns the database: the others only stop.
    const last = servers.pop();
    for (const s of servers.splice(0)) await s.stop();
    await last?.close();
  });

  async function notebook(clock: TestClock, config: Record<string, unknown> = {}) {
    const t = await startTestServer(kind, { config: { reports: { ...QUIET_SCHEDULER, ...config } }, clock: clock.now });
    servers.push(t);
    const pub = await t.createUser('pub', 'publisher');
    const d = await deployBundle(t.url, pub.key, 'notebook', fixture('py-jupyter-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const variant = (await api(t.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key })).body[0];
    return { t, pub, d, variant };
  }

  it('hands renders back at shutdown (neither failed nor mailed), and the next start runs them', async () => {
    const clock = new TestClock(new Date(Math.floor(Date.now() / SECOND) * SECOND));
    const t1 = await startTestServer(kind, {
      config: { reports: { ...QUIET_SCHEDULER, maxConcurrentRenders: 1 }, server: { shutdownGraceSeconds: 0 } },
      clock: clock.now,
    });
    servers.push(t1);
    const pub = await t1.createUser('pub', 'publisher');
    const d = await deployBundle(t1.url, pub.key, 'notebook', fixture('py-jupyter-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const variant = (await api(t1.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key })).body[0];
    // One render runs, the other waits for the slot; then the server stops with no grace.
    for (let i = 0; i < 2; i++) expect((await api(t1.url, 'POST', `/__api__/variants/${variant.id}/render`, { key: pub.key })).status).toBe(200);
    await t1.stop();

    const t2 = await startTestServer(kind, { config: { reports: QUIET_SCHEDULER }, clock: clock.now, db: t1.db });
    servers.push(t2);
    const { renderings } = t2.server.ctx.repos;
    const handedBack = (await renderings.forVariant(variant.id)).filter((r) => r.trigger === 'manual');
    expect(handedBack.map((r) => [r.status, r.error])).toEqual([
      ['queued', null],
      ['queued', null],
    ]);
    clock.advance(SECOND);
    expect((await t2.server.scheduler.tick()).retried).toBe(2);
    await t2.server.ctx.reports.renders.idle();
    const after = (await renderings.forVariant(variant.id)).filter((r) => r.trigger === 'manual');
    expect(after.map((r) => [r.status, r.attempt, r.serverId])).toEqual([
      ['succeeded', 1, t2.server.ctx.reports.renders.serverId],
      ['succeeded', 1, t2.server.ctx.reports.renders.serverId],
    ]);
    expect((await t2.server.scheduler.tick()).retried).toBe(0);
  });

  it("retries a dead server's scheduled render once, for the same slot, however many servers sweep at once", async () => {
    const clock = new TestClock(new Date(Math.floor(Date.now() / SECOND) * SECOND));
    const { t, variant } = await notebook(clock);
    const { renderings } = t.server.ctx.repos;
    const due = new Date(clock.now().getTime() - MINUTE);
    const dead = await renderings.create({
      contentId: variant.app_id,
      variantId: variant.id,
      bundleId: variant.bundle_id,
      trigger: 'schedule',
      scheduleId: 4242,
      dueTime: due,
      status: 'running',
      activate: true,
      email: false,
      serverId: 'a-server-that-died',
      leaseUntil: new Date(clock.now().getTime() + 30 * SECOND),
    });
    clock.advance(31 * SECOND);
    const { renders } = t.server.ctx.reports;
    const swept = await Promise.all([renders.sweepLapsed(clock.now()), renders.sweepLapsed(clock.now()), renders.sweepLapsed(clock.now())]);
    expect(swept.flat()).toHaveLength(1);
    await renders.idle();
    expect(await renderings.byId(dead.id)).toMatchObject({ status: 'failed', dueTime: due });
    const retry = swept.flat()[0]!;
    const retried = await renderings.byId(retry.id);
    expect(retried, retried?.error ?? '').toMatchObject({ status: 'succeeded', attempt: 2, scheduleId: 4242, dueTime: due });
  });

  it('parks a schedule whose time zone no longer computes, and still runs the others', async () => {
    const clock = new TestClock(new Date(Math.floor(Date.now() / MINUTE) * MINUTE));
    const { t, pub, d, variant } = await notebook(clock);
    const good = await api(t.url, 'POST', '/__api__/schedules', {
      key: pub.key,
      body: {
        app_id: variant.app_id,
        variant_id: variant.id,
        type: 'minute',
        schedule: '{"N":1}',
        start_time: clock.now().toISOString(),
        timezone: 'UTC',
        email: false,
      },
    });
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    const other = await api(t.url, 'POST', `/__api__/applications/${d.content.guid}/variants`, {
      key: pub.key,
      body: { name: 'other', parameters: {}, visibility: 'public' },
    });
    expect(other.status).toBe(200);
    // As if the runtime's time zone database dropped a zone after the schedule was saved.
    const { knex } = t.server.ctx.db;
    const now = clock.now();
    const [bad] = (await knex('schedules')
      .insert({
        content_id: variant.app_id,
        variant_id: other.body.id,
        type: 'day',
        schedule: '{"N":1}',
        start_time: now,
        timezone: 'Mars/Olympus_Mons',
        activate: true,
        email: false,
        next_run: now,
        created_time: now,
        updated_time: now,
      })
      .returning('id')) as { id: number }[];
    clock.advance(MINUTE);
    const tick = await t.server.scheduler.tick();
    expect(tick.claimed).toBe(2);
    const parked = (await knex('schedules').where({ id: bad!.id }).first()) as { next_run: unknown };
    expect(parked.next_run).toBeNull();
    expect(t.logs.some((l) => l.includes('parked until it is saved again'))).toBe(true);
    const s = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/schedules`, { key: pub.key })).body[0];
    expect(new Date(s.next_run).getTime()).toBe(clock.now().getTime() + MINUTE);
    await t.server.ctx.reports.renders.idle();
  });

  it('keeps a pruned render while mail that attaches it is still waiting to go', async () => {
    const clock = new TestClock(new Date(Math.floor(Date.now() / SECOND) * SECOND));
    const { t, pub, d, variant } = await notebook(clock, { keepRenderings: 1 });
    const { renderings } = t.server.ctx.repos;
    const first = (await renderings.byId(variant.rendering_id))!;
    const dir = t.server.ctx.runtime.reports.outputDir(first.outputPath!)!;
    // Mail of the first render, waiting: the outbox is not drained here (the scheduler is quiet).
    await t.server.ctx.mail.settings.set(
      { userId: null, via: 'system' },
      { host: '127.0.0.1', port: 25, security: 'none', fromAddress: 'reports@example.com' },
      clock.now(),
    );
    await t.server.ctx.mail.outbox.enqueue(
      {
        kind: 'on-demand',
        contentId: first.contentId,
        variantId: first.variantId,
        renderingId: first.id,
        message: { subject: 'Report', text: 'attached', attachments: [{ filename: first.outputFile!, path: `${dir}/${first.outputFile}` }], images: [] },
        recipients: [{ address: 'stakeholder@example.com' }],
      },
      clock.now(),
    );
    const renderAgain = async () => {
      await api(t.url, 'POST', `/__api__/variants/${variant.id}/render`, { key: pub.key });
      await t.server.ctx.reports.renders.idle();
    };
    await renderAgain();
    await renderAgain();
    const ids = async () => (await renderings.forVariant(variant.id)).map((r) => r.id);
    expect(await ids()).toContain(first.id);
    expect((await get(`${d.content.content_url}_rev${first.id}/`, pub.key)).status).toBe(200);
    // Once the mail has gone, the next prune takes it.
    await t.server.ctx.db.knex('email_sends').update({ status: 'sent' });
    await renderAgain();
    expect(await ids()).not.toContain(first.id);
    expect((await get(`${d.content.content_url}_rev${first.id}/`, pub.key)).status).toBe(404);
  });
});
