import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { TestClock } from '../helpers/test-clock.ts';

const MINUTE = 60_000;

describe.each(DATABASES)('a locked report renders nothing (%s)', (kind) => {
  let t: TestServer;
  const clock = new TestClock(new Date(Math.floor(Date.now() / MINUTE) * MINUTE));
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { reports: QUIET_SCHEDULER }, clock: clock.now });
  });
  afterAll(async () => t?.close());

  it('refuses a render on demand with LockedContentProcess (223) and lets scheduled slots pass', async () => {
    const pub = await t.createUser('lr-pub', 'publisher');
    const d = await deployBundle(t.url, pub.key, 'locked-notebook', fixture('py-jupyter-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    const variant = (await api(t.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key })).body[0];
    await api(t.url, 'POST', '/__api__/schedules', {
      key: pub.key,
      body: { app_id: variant.app_id, variant_id: variant.id, type: 'minute', schedule: '{"N": 5}', start_time: clock.now().toISOString() },
    });
    await api(t.url, 'PATCH', `/__api__/v1/content/${d.content.guid}`, { key: pub.key, body: { locked: true } });

    const render = await api(t.url, 'POST', `/__api__/variants/${variant.id}/render`, { key: pub.key });
    expect(render.status).toBe(400);
    expect(render.body).toMatchObject({ code: 223 });
    clock.advance(5 * MINUTE);
    await t.server.scheduler.tick();
    await t.server.ctx.reports.renders.idle();
    const history = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/renderings`, { key: pub.key })).body as Array<{ trigger: string }>;
    expect(history.map((h) => h.trigger)).toEqual(['deploy']);
    // The slot moved on all the same: the next one is after now.
    const s = (await api(t.url, 'GET', `/__api__/variants/${variant.id}/schedules`, { key: pub.key })).body[0];
    expect(new Date(s.next_run).getTime()).toBeGreaterThan(clock.now().getTime());
  });
});
