import { afterAll, describe, expect, it } from 'vitest';
import { Scheduler, type SchedulerRenders } from '../../scheduler/index.ts';
import type { Rendering } from '../../src/domain/reports.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { fixture } from '../helpers/bundles.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { TestClock } from '../helpers/test-clock.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SCHEDULES = 100;

/**
 * The render side of one server as the claim path sees it: the real lease renewal and sweep,
 * and a dispatch that records which server got which rendering and ends it at once. Three
 * hundred real renders would take six CPU-minutes; what is under test here is that each due
 * slot is claimed by one server exactly once (reports.test.ts runs real scheduled renders).
 */
function recording(t: TestServer, got: Map<number, string[]>, clock: TestClock): SchedulerRenders {
  const { renders } = t.server.ctx.reports;
  const { renderings } = t.server.ctx.repos;
  return {
    serverId: renders.serverId,
    leaseFrom: (now) => renders.leaseFrom(now),
    renew: (now) => renders.renew(now),
    sweepLapsed: (now) => renders.sweepLapsed(now),
    dispatch(r: Rendering) {
      got.set(r.id, [...(got.get(r.id) ?? []), renders.serverId]);
      void renderings
        .start(r.id, renders.serverId, clock.now())
        .then(() => renderings.finish(r.id, renders.serverId, 'succeeded', { jobKey: null, renderTime: clock.now(), durationNs: 0 }));
    },
  };
}

describe('two servers on one PostgreSQL database', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await servers[1]?.stop();
    await servers[0]?.close();
  });

  it(`run ${SCHEDULES} minute schedules for 3 minutes: every due run happens exactly once`, async () => {
    const clock = new TestClock(new Date(Math.floor(Date.now() / MINUTE) * MINUTE));
    const quiet = { reports: QUIET_SCHEDULER };
    const a = await startTestServer('postgres', { config: quiet, clock: clock.now });
    servers.push(a);
    const pub = await a.createUser('pub', 'publisher');
    const d = await deployBundle(a.url, pub.key, 'digest', fixture('py-jupyter-static.tar.gz'));
    expect(d.task.code, d.log).toBe(0);
    // The second server: its own process state and connection pool, the same database.
    const b = await startTestServer('postgres', { config: quiet, clock: clock.now, db: a.db });
    servers.push(b);

    const variants = [(await api(a.url, 'GET', `/__api__/applications/${d.content.guid}/variants`, { key: pub.key })).body[0]];
    for (let i = 1; i < SCHEDULES; i++) {
      const v = await api(a.url, 'POST', `/__api__/applications/${d.content.guid}/variants`, {
        key: pub.key,
        body: { name: `v${i}`, parameters: {}, visibility: 'public' },
      });
      variants.push(v.body);
    }
    const start = clock.now();
    for (const [i, v] of variants.entries()) {
      // Half through each server's API: it is one set of schedules either way.
      const via = i % 2 ? b : a;
      const s = await api(via.url, 'POST', '/__api__/schedules', {
        key: pub.key,
        body: { app_id: v.app_id, variant_id: v.id, type: 'minute', schedule: '{"N": 1}', start_time: start.toISOString() },
      });
      expect(s.status, JSON.stringify(s.body)).toBe(200);
    }

    const got = new Map<number, string[]>();
    const logger = createLogger('silent');
    // Small batches, so the two servers' claims interleave within each minute.
    const schedulers = [a, b].map(
      (t) => new Scheduler(t.server.ctx.reports.schedules, recording(t, got, clock), [], { tickSeconds: 300, batch: 7 }, clock.now, logger),
    );
    for (let s = 0; s < 180; s++) {
      clock.advance(SECOND);
      await Promise.all(schedulers.map((x) => x.tick()));
    }

    const scheduleIds = (await Promise.all(variants.map((v) => a.server.ctx.repos.schedules.forVariant(v.id)))).map((s) => s!.id);
    const rendered = await a.server.ctx.repos.renderings.forSchedules(scheduleIds);
    const slots = rendered.map((r) => `${r.scheduleId}@${r.dueTime?.toISOString()}`);
    // Due at +1, +2 and +3 minutes: 300 runs, no slot twice, none missing.
    expect(rendered).toHaveLength(3 * SCHEDULES);
    expect(new Set(slots).size).toBe(3 * SCHEDULES);
    const dueTimes = new Set(rendered.map((r) => r.dueTime!.getTime() - start.getTime()));
    expect([...dueTimes].sort((x, y) => x - y)).toEqual([MINUTE, 2 * MINUTE, 3 * MINUTE]);
    // Each claimed rendering was started by one server, once.
    expect(got.size).toBe(3 * SCHEDULES);
    expect([...got.values()].every((servers) => servers.length === 1)).toBe(true);
    const byServer = new Map<string, number>();
    for (const [id] of got) {
      const owner = rendered.find((r) => r.id === id)!.serverId!;
      byServer.set(owner, (byServer.get(owner) ?? 0) + 1);
    }
    console.log(`claims per server: ${[...byServer.values()].join(' / ')}`);
  });
});
