import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CONTENT_EVENTS } from '../../src/domain/deploy.ts';
import { TimedWorkRepo } from '../../src/repositories/timed-work-repo.ts';
import type { PruneReport } from '../../src/services/retention/daily-prune.ts';
import { fixture, staticBundle, uploadChunked } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle } from '../helpers/deploy.ts';
import { api, QUIET_SCHEDULER, startTestServer, type TestServer } from '../helpers/server.ts';
import { followTaskV1 } from '../helpers/tasks.ts';
import { TestClock } from '../helpers/test-clock.ts';

const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

// The daily prune (src/services/retention/) on a real server: every part against what real
// deploys, renders and uploads leave, on both databases. The clock is the test's: each prune
// is a day (or more) after the last, as the claim of the day's run wants.
describe.each(DATABASES)('retention on %s', (kind) => {
  let t: TestServer;
  let clock: TestClock;
  let owner: { key: string };
  const deleted: Array<[string, number]> = [];
  let reportGuid = '';
  const prune = async (advanceMs = 3 * DAY): Promise<PruneReport[]> => t.server.ctx.retention.prune(clock.advance(advanceMs));
  const reportOf = (reports: PruneReport[], part: string) => reports.find((r) => r.part === part);

  beforeAll(async () => {
    clock = new TestClock(new Date());
    t = await startTestServer(kind, {
      clock: clock.now,
      config: {
        reports: QUIET_SCHEDULER,
        retention: { bundlesPerItem: 2, taskLogDays: 1, jobLogDays: 1, tmpHours: 24, auditDays: 30 },
        // The machine's own disk must not decide what this suite sees.
        health: { minFreeDiskPercent: 0, minFreeDiskBytes: 0 },
      } as never,
    });
    owner = await t.createUser('ret-owner', 'publisher');
    t.server.ctx.subscribe({ ...NO_CONTENT_EVENTS, bundleDeleted: (guid, id) => void deleted.push([guid, id]) });
    // The first run, at start, found nothing; let it end before the tests look.
    await t.server.scheduler.settled();
  });
  afterAll(async () => t?.close());

  it('removes bundles beyond the newest kept per item, never the active one or one a deploy is using: rows, files and the runtime told, audited', async () => {
    const c = (await api(t.url, 'POST', '/__api__/v1/content', { key: owner.key, body: { name: 'many-bundles' } })).body as { guid: string; id: string };
    const base = `/__api__/v1/content/${c.guid}/bundles`;
    const ids: number[] = [];
    for (const n of [1, 2, 3, 4, 5, 6]) ids.push(Number((await uploadChunked(t.url, base, owner.key, await staticBundle(`<p>v${n}</p>`))).body.id));
    const deploy = async (id: number) => {
      const dep = await api(t.url, 'POST', `/__api__/v1/content/${c.guid}/deploy`, { key: owner.key, body: { bundle_id: String(id) } });
      expect((await followTaskV1(t.url, owner.key, dep.body.task_id)).code).toBe(0);
    };
    // 5 went live, then a rollback to 1: the active bundle is the oldest.
    await deploy(ids[4]!);
    await deploy(ids[0]!);
    // A deploy of 2 is running (as another server would have it): its bundle is in use.
    const store = t.server.ctx.store;
    const contentId = Number(c.id);
    await t.server.ctx.repos.tasks.create({ id: `running-${kind}`, contentId, bundleId: ids[1]!, userId: t.admin.user.id, kind: 'deploy', activate: false });

    const reports = await prune();
    // Kept: 6 and 5 (the newest two), 1 (active), 2 (in use). Removed: 3 and 4.
    expect(reportOf(reports, 'bundles')?.freed).toMatchObject({ rows: 2, files: expect.any(Number), bytes: expect.any(Number) });
    expect(reportOf(reports, 'bundles')!.freed!.files).toBeGreaterThanOrEqual(4);
    const listed = ((await api(t.url, 'GET', base, { key: owner.key })).body as Array<{ id: string }>).map((b) => Number(b.id));
    expect(listed).toEqual([ids[0], ids[1], ids[4], ids[5]]);
    for (const id of [ids[2]!, ids[3]!]) {
      expect(existsSync(store.bundleDir(c.guid, id))).toBe(false);
      expect(existsSync(store.archivePath(c.guid, id))).toBe(false);
      expect(deleted).toContainEqual([c.guid, id]);
    }
    for (const id of [ids[0]!, ids[1]!, ids[4]!, ids[5]!]) expect(existsSync(store.archivePath(c.guid, id))).toBe(true);
    expect((await api(t.url, 'GET', `/__api__/v1/content/${c.guid}`, { key: owner.key })).body.bundle_id).toBe(String(ids[0]));
    const audited = (await t.server.ctx.audit.recent(50, 'bundle.delete')).filter((e) => e.targetId === c.guid);
    expect(audited.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        { via: 'system', bundle_id: ids[2], reason: 'retention', kept: 2 },
        { via: 'system', bundle_id: ids[3], reason: 'retention', kept: 2 },
      ]),
    );
    expect(audited.every((e) => e.actorUserId === null)).toBe(true);

    // Once the deploy of 2 has ended, 2 goes at the next prune; the rest stay.
    await t.server.ctx.repos.tasks.finish(`running-${kind}`, 0, '', null);
    await prune();
    const after = ((await api(t.url, 'GET', base, { key: owner.key })).body as Array<{ id: string }>).map((b) => Number(b.id));
    expect(after).toEqual([ids[0], ids[4], ids[5]]);
  });

  it("keeps a report's bundle whose render is still in its history, and removes the render output of deleted content", async () => {
    const first = await deployBundle(t.url, owner.key, 'ret-report', fixture('r-rmd-static.tar.gz'));
    expect(first.task.code, first.log).toBe(0);
    const guid = first.content.guid;
    reportGuid = guid;
    const base = `/__api__/v1/content/${guid}/bundles`;
    const up = async () => Number((await uploadChunked(t.url, base, owner.key, fixture('r-rmd-static.tar.gz'))).body.id);
    const second = await up();
    const third = await up();
    const fourth = await up();
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${guid}/deploy`, { key: owner.key, body: { bundle_id: String(fourth) } });
    expect((await followTaskV1(t.url, owner.key, dep.body.task_id)).code).toBe(0);
    const rendersDir = path.join(t.db.dataDir, 'renders', guid);
    expect(readdirSync(rendersDir).sort()).toEqual([first.bundleId, String(fourth)].sort());

    await prune();
    // Kept: the first (its render is in the variant's history), third and fourth (the newest two).
    const listed = ((await api(t.url, 'GET', base, { key: owner.key })).body as Array<{ id: string }>).map((b) => Number(b.id));
    expect(listed).toEqual([Number(first.bundleId), third, fourth]);
    expect(listed).not.toContain(second);
    expect(readdirSync(rendersDir).sort()).toEqual([first.bundleId, String(fourth)].sort());

    // Deleting the item leaves its renders on disk; the prune's render-output part removes them.
    expect((await api(t.url, 'DELETE', `/__api__/v1/content/${guid}`, { key: owner.key })).status).toBe(200);
    expect(existsSync(rendersDir)).toBe(true);
    const reports = await prune();
    expect(existsSync(rendersDir)).toBe(false);
    expect(reportOf(reports, 'render-output')!.freed!.files).toBeGreaterThan(0);
  });

  it('removes task logs of tasks that ended before their retention, never a running one', async () => {
    const d = await deployBundle(t.url, owner.key, 'ret-tasks', await staticBundle('<p>tasks</p>'));
    expect(d.task.code).toBe(0);
    const ownerId = (await t.server.ctx.users.byUsername('ret-owner')).id;
    const deployTask = (await t.server.ctx.tasks.listForUser(ownerId, 500)).find((x) => x.kind === 'deploy');
    expect(deployTask?.finished).toBe(true);
    expect(await t.server.ctx.repos.tasks.lineCount(deployTask!.id)).toBeGreaterThan(0);
    await t.server.ctx.repos.tasks.create({ id: `still-running-${kind}`, contentId: null, bundleId: null, userId: ownerId, kind: 'git', activate: false });
    await t.server.ctx.repos.tasks.appendLine(`still-running-${kind}`, 0, 'working');

    const reports = await prune();
    const freed = reportOf(reports, 'task-logs')!.freed!;
    expect(freed.rows).toBeGreaterThan(1);
    expect(freed.bytes).toBeGreaterThan(0);
    expect(await t.server.ctx.repos.tasks.byId(deployTask!.id)).toBeUndefined();
    expect((await api(t.url, 'GET', `/__api__/v1/tasks/${deployTask!.id}`, { key: owner.key })).status).toBe(404);
    expect(await t.server.ctx.repos.tasks.lineCount(deployTask!.id)).toBe(0);
    expect(await t.server.ctx.repos.tasks.byId(`still-running-${kind}`)).toMatchObject({ finished: false });
    expect(await t.server.ctx.repos.tasks.lineCount(`still-running-${kind}`)).toBe(1);
  });

  it('removes job logs that ended before their retention, never a running job', async () => {
    const jobs = path.join(t.db.dataDir, 'jobs', '0b5e6f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b');
    const job = (key: string, status: string, endTime: Date | null) => {
      mkdirSync(path.join(jobs, key), { recursive: true });
      writeFileSync(
        path.join(jobs, key, 'job.json'),
        JSON.stringify({ key, status, endTime: endTime?.toISOString() ?? null, startTime: new Date(0).toISOString() }),
      );
      writeFileSync(path.join(jobs, key, 'log.jsonl'), '{"t":0,"s":"stdout","d":"hello"}\n');
    };
    const now = clock.advance(DAY);
    job('ended-long-ago', 'exited', new Date(now.getTime() - 2 * DAY));
    job('ended-lately', 'exited', new Date(now.getTime() - HOUR));
    job('still-running', 'running', null);
    const reports = await t.server.ctx.retention.prune(now);
    expect(reportOf(reports, 'job-logs')!.freed!.files).toBeGreaterThanOrEqual(2);
    expect(readdirSync(jobs).sort()).toEqual(['ended-lately', 'still-running']);
    // The report's real render jobs (its item deleted since) ended days ago by this clock: gone.
    expect(readdirSync(path.join(t.db.dataDir, 'jobs', reportGuid))).toEqual([]);
  });

  it('removes uploads left in tmp and staging directories past tmpHours, and keeps fresh ones', async () => {
    const now = clock.advance(DAY);
    const tmp = path.join(t.db.dataDir, 'tmp');
    const put = (p: string, when: Date, dir = false) => {
      if (dir) mkdirSync(p, { recursive: true });
      else writeFileSync(p, 'partial upload');
      utimesSync(p, when, when);
    };
    put(path.join(tmp, 'upload-stale.tar.gz'), new Date(now.getTime() - 25 * HOUR));
    put(path.join(tmp, 'upload-fresh.tar.gz'), new Date(now.getTime() - HOUR));
    const staging = path.join(t.db.dataDir, 'bundles', '0b5e6f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b', 'staging-0123456789abcdef');
    put(staging, new Date(now.getTime() - 48 * HOUR), true);
    const reports = await t.server.ctx.retention.prune(now);
    expect(reportOf(reports, 'uploads')!.freed).toEqual({ rows: 0, files: 1, bytes: 'partial upload'.length });
    expect(readdirSync(tmp)).toEqual(['upload-fresh.tar.gz']);
    expect(existsSync(staging)).toBe(false);
  });

  it("removes audit entries and usage past their retention in the scheduler's daily run, logging a line per part", async () => {
    const knex = t.server.ctx.db.knex;
    const now = clock.now();
    const entry = (daysAgo: number) => ({
      time: new Date(now.getTime() - daysAgo * DAY),
      actor_user_id: null,
      action: 'user.update',
      target_type: 'user',
      target_id: `aged-${daysAgo}`,
      details: '{}',
    });
    await knex('audit_log').insert([entry(40), entry(35), entry(5)]);
    await t.server.ctx.repos.usage.writeBatch({
      visits: [
        {
          contentGuid: '0b5e6f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
          userGuid: null,
          variantKey: null,
          renderingId: null,
          bundleId: null,
          path: '/old',
          userAgent: null,
          time: new Date(now.getTime() - 400 * DAY),
          dataVersion: 3,
        },
      ],
      hits: [],
      sessions: [],
      ends: [],
    });
    const logged = t.logs.length;
    clock.advance(DAY + 1000);
    await t.server.scheduler.tick();
    await t.server.scheduler.settled();
    const left = (await knex('audit_log').where('target_id', 'like', 'aged-%').select('target_id')).map((r: { target_id: string }) => r.target_id);
    expect(left).toEqual(['aged-5']);
    const pruned = await t.server.ctx.audit.recent(5, 'audit.prune');
    expect(pruned[0]?.details).toMatchObject({ via: 'system', removed: expect.any(Number), days: 30 });
    expect(Number(pruned[0]!.details.removed)).toBeGreaterThanOrEqual(2);
    expect(Number((await knex('content_visits').where({ path: '/old' }).count({ n: '*' }).first())!.n)).toBe(0);
    const lines = t.logs
      .slice(logged)
      .map((l) => JSON.parse(l) as { msg: string; part?: string })
      .filter((l) => l.msg.startsWith('retention: '));
    expect(lines.map((l) => l.part).sort()).toEqual(['audit', 'bundles', 'job-logs', 'render-output', 'task-logs', 'uploads', 'usage']);
    expect(lines.find((l) => l.part === 'usage')!.msg).toMatch(/^retention: usage freed 1 row, 0 files, 0 B$/);
  });

  it("gives the day's run of the database's parts to exactly one of the servers asking at once", async () => {
    const repo = new TimedWorkRepo(t.server.ctx.db.knex);
    const now = clock.now();
    const claims = await Promise.all([repo.claim('race', now, DAY, 'a'), repo.claim('race', now, DAY, 'b'), repo.claim('race', now, DAY, 'c')]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await repo.claim('race', new Date(now.getTime() + DAY - 1), DAY, 'a')).toBe(false);
    expect(await repo.claim('race', new Date(now.getTime() + DAY), DAY, 'b')).toBe(true);
    // The server's own claim for today is taken: a second prune today leaves the database alone.
    const again = await t.server.ctx.retention.prune(clock.now());
    expect(reportOf(again, 'audit')).toEqual({ part: 'audit', elsewhere: true });
    expect(reportOf(again, 'uploads')?.freed).toBeDefined();
  });

  it('reports disk space in GET /__health__, warns under the threshold with status 200, and keeps its fields', async () => {
    const health = await api(t.url, 'GET', '/__health__');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', database: 'ok', version: expect.any(String), warnings: [] });
    expect(health.body.disk).toMatchObject({ free_bytes: expect.any(Number), total_bytes: expect.any(Number), free_percent: expect.any(Number), low: false });
    expect(health.body.disk.free_bytes).toBeLessThanOrEqual(health.body.disk.total_bytes);

    // A threshold above what any disk has free: a warning, and still 200.
    const low = await startTestServer(kind, { config: { reports: QUIET_SCHEDULER, health: { minFreeDiskPercent: 100 } } as never });
    try {
      const res = await api(low.url, 'GET', '/__health__');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', database: 'ok', disk: { low: true } });
      expect(res.body.warnings).toEqual([expect.stringMatching(/^Low on disk space: .* free in the data directory, under 100% or 2\.0 GiB\.$/)]);
    } finally {
      await low.close();
    }
  });
});
