/**
 * The scheduler at 1,000 schedules, on SQLite (or PostgreSQL: LECTERN_BENCH_DATABASE_URL).
 *
 * 1. Delay: 1,000 minute schedules whose start times are spread over a minute, the scheduler
 *    ticking every second on the real clock for two minutes. For each due run, the delay from
 *    its due time to the moment the scheduler hands it to the renderer, as a ratio to the tick
 *    interval (a loop that looks once per tick cannot beat half a tick on average).
 * 2. Rate: all 1,000 due at once, one tick claims them. Baseline in the same run: inserting the
 *    same number of rendering rows one by one in one transaction, the least a claim must write.
 *
 * Renders are recorded, not run: the figure is the scheduler's, not R's or Python's.
 *
 *   node --import tsx bench/scheduler-dispatch.ts [schedules] [seconds]
 */
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Scheduler, type SchedulerRenders } from '../scheduler/index.ts';
import type { Rendering } from '../src/domain/reports.ts';
import { createLogger } from '../src/logging/logger.ts';
import { startBenchServer } from './bench-server.ts';

const COUNT = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 120);
const TICK_SECONDS = 1;
const notebook = readFileSync(path.resolve(import.meta.dirname, '../../shared/fixtures/bundles/py-jupyter-static.tar.gz'));

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const url = process.env.LECTERN_BENCH_DATABASE_URL;
  const bench = await startBenchServer({ overrides: { reports: { tickSeconds: 300, leaseSeconds: 900 }, ...(url ? { database: { url } } : {}) } });
  const { ctx } = bench;
  await bench.server.scheduler.stop();
  const owner = await ctx.users.byUsername('bench');
  const actor = { userId: owner.id, via: 'system' as const };

  // One deployed notebook; its default variant and COUNT - 1 saved ones, each with a schedule.
  const created = await fetch(`${bench.base}/__api__/v1/content`, {
    method: 'POST',
    headers: { ...bench.auth, 'content-type': 'application/json' },
    body: '{"name":"digest"}',
  });
  const { guid } = (await created.json()) as { guid: string };
  const up = await fetch(`${bench.base}/__api__/v1/content/${guid}/bundles`, { method: 'POST', headers: bench.auth, body: notebook });
  const { id: bundleId } = (await up.json()) as { id: string };
  const dep = await fetch(`${bench.base}/__api__/v1/content/${guid}/deploy`, {
    method: 'POST',
    headers: { ...bench.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ bundle_id: bundleId }),
  });
  const { task_id } = (await dep.json()) as { task_id: string };
  while (!(await ctx.tasks.get(task_id)).finished) await new Promise((r) => setTimeout(r, 200));
  const variants = [(await ctx.reports.variants.list(owner, guid))[0]!];
  for (let i = 1; i < COUNT; i++) variants.push(await ctx.reports.variants.create(actor, owner, guid, { name: `v${i}`, params: {}, visibility: 'public' }));
  const made: { id: number }[] = [];
  for (const { content, variant } of variants) {
    made.push(
      await ctx.reports.schedules.create(actor, owner, {
        appId: content.id,
        variantId: variant.id,
        type: 'minute',
        schedule: '{"N": 1}',
        startTime: new Date(Date.now() + 3600_000).toISOString(),
        timezone: 'UTC',
        activate: true,
        email: false,
      }),
    );
  }
  // Making them takes seconds: their start times, spread over a minute, are set once all exist.
  const knex = ctx.db.knex;
  const t0 = Date.now() + 2000;
  await knex.transaction(async (trx) => {
    for (const [i, s] of made.entries()) {
      const start = new Date(t0 + Math.floor((i * 60_000) / COUNT));
      await trx('schedules').where({ id: s.id }).update({ start_time: start, next_run: start });
    }
  });

  const delays: number[] = [];
  const renders = ctx.reports.renders;
  const recorder: SchedulerRenders = {
    serverId: renders.serverId,
    leaseFrom: (now) => renders.leaseFrom(now),
    renew: (now) => renders.renew(now),
    sweepLapsed: (now) => renders.sweepLapsed(now),
    dispatch(r: Rendering) {
      if (r.dueTime) delays.push(Date.now() - r.dueTime.getTime());
      void ctx.repos.renderings
        .start(r.id, renders.serverId, new Date())
        .then(() => ctx.repos.renderings.finish(r.id, renders.serverId, 'succeeded', { jobKey: null, renderTime: new Date(), durationNs: 0 }));
    },
  };
  const scheduler = new Scheduler(ctx.reports.schedules, recorder, [], { tickSeconds: TICK_SECONDS, batch: 50 }, () => new Date(), createLogger('silent'));
  scheduler.start();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await scheduler.stop();

  const steady = [...delays];
  // Burst: everything due now, one tick.
  await knex('schedules').update({ next_run: new Date(Date.now() - 1000) });
  const b0 = performance.now();
  const { claimed } = await scheduler.tick();
  const burstMs = performance.now() - b0;
  // Baseline: the rendering rows alone, inserted one by one in one transaction.
  const row = (await knex('renderings').first()) as Record<string, unknown>;
  const i0 = performance.now();
  await knex.transaction(async (trx) => {
    for (let i = 0; i < claimed; i++) {
      const { id: _id, ...rest } = row;
      void _id;
      await trx('renderings').insert({ ...rest, schedule_id: null, due_time: null });
    }
  });
  const insertMs = performance.now() - i0;

  const tickMs = TICK_SECONDS * 1000;
  console.log(`database: ${ctx.db.description.split(':')[0]}; ${COUNT} schedules, ${SECONDS} s, tick ${TICK_SECONDS} s`);
  console.log(`due runs dispatched: ${steady.length}`);
  console.log(
    `due → dispatch delay: mean ${mean(steady).toFixed(0)} ms (${(mean(steady) / tickMs).toFixed(2)} × tick), p99 ${pct(steady, 0.99).toFixed(0)} ms (${(pct(steady, 0.99) / tickMs).toFixed(2)} × tick), max ${Math.max(...steady)} ms`,
  );
  console.log(
    `burst: ${claimed} due runs claimed in one tick in ${burstMs.toFixed(0)} ms = ${((claimed / burstMs) * 1000).toFixed(0)}/s; bare inserts ${((claimed / insertMs) * 1000).toFixed(0)}/s; ratio ${(insertMs / burstMs).toFixed(2)}`,
  );
  await bench.close();
}

await main();
