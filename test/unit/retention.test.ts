import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../runtimes/jobs/job-store.ts';
import { pruneRenders } from '../../runtimes/rendering/render-prune.ts';
import { BUNDLE_MIN_AGE_MS, bundlesToPrune, daysBefore, NOTHING_FREED, type PrunePart } from '../../src/domain/retention.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { auditRetention } from '../../src/services/retention/audit-entries.ts';
import { DailyPrune } from '../../src/services/retention/daily-prune.ts';
import { jobLogRetention } from '../../src/services/retention/job-logs.ts';
import { bundleRetention } from '../../src/services/retention/old-bundles.ts';
import { taskLogRetention } from '../../src/services/retention/task-logs.ts';
import { uploadRetention } from '../../src/services/retention/upload-leftovers.ts';
import { usageRetention } from '../../src/services/retention/usage-rows.ts';

const DAY = 24 * 3600 * 1000;
const NOW = new Date('2026-12-03T12:00:00Z');
const GUID = '0b5e6f2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const OTHER = '1c6f7a3b-2d3e-4f60-9bac-1d2e3f4a5b6c';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'lectern-retention-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A file (or directory) last written at `when`. */
function aged(p: string, when: Date, content: string | null = 'x'): string {
  if (content === null) mkdirSync(p, { recursive: true });
  else {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  utimesSync(p, when, when);
  return p;
}

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

describe('which bundles the retention removes', () => {
  const old = (id: number) => ({ id, createdTime: new Date(NOW.getTime() - 10 * DAY - id) });
  const base = { keep: 2, activeId: null, inUse: new Set<number>(), now: NOW };

  it('keeps the newest `keep` by id and removes the rest, oldest first', () => {
    expect(bundlesToPrune([old(3), old(1), old(5), old(4), old(2)], base)).toEqual([1, 2, 3]);
  });

  it('never removes the active bundle, one in use, or one younger than a day; they do not count against `keep`', () => {
    const young = { id: 2, createdTime: new Date(NOW.getTime() - BUNDLE_MIN_AGE_MS + 1000) };
    const bundles = [old(1), young, old(3), old(4), old(5), old(6)];
    expect(bundlesToPrune(bundles, { ...base, activeId: 1, inUse: new Set([3]) })).toEqual([4]);
  });

  it('removes nothing when `keep` is 0 (keep all) or the item has no more than `keep`', () => {
    expect(bundlesToPrune([old(1), old(2), old(3)], { ...base, keep: 0 })).toEqual([]);
    expect(bundlesToPrune([old(1), old(2)], base)).toEqual([]);
  });

  it('measures days back from the clock it is given', () => {
    expect(daysBefore(NOW, 30).toISOString()).toBe('2026-11-03T12:00:00.000Z');
  });
});

describe('the daily prune', () => {
  const part = (name: string, calls: string[], o: { fails?: boolean; off?: string; rows?: number } = {}): PrunePart => ({
    name,
    off: o.off,
    async prune() {
      calls.push(name);
      if (o.fails) throw new Error(`${name} broke`);
      return { rows: o.rows ?? 1, files: 2, bytes: 3072 };
    },
  });

  it('runs every part in order, logs one line for each, and goes on past a part that fails', async () => {
    const calls: string[] = [];
    const { logger, lines } = captureLogs();
    const prune = new DailyPrune(
      { shared: [part('a', calls), part('b', calls, { fails: true }), part('c', calls, { off: 'x is 0' })], local: [part('d', calls, { rows: 5 })] },
      async () => true,
      logger,
    );
    const reports = await prune.prune(NOW);
    expect(calls).toEqual(['a', 'b', 'd']);
    expect(reports).toEqual([
      { part: 'a', freed: { rows: 1, files: 2, bytes: 3072 } },
      { part: 'b', error: 'b broke' },
      { part: 'c', off: 'x is 0' },
      { part: 'd', freed: { rows: 5, files: 2, bytes: 3072 } },
    ]);
    expect(lines.map((l) => l.msg)).toEqual([
      'retention: a freed 1 row, 2 files, 3.0 KiB',
      'retention: b failed; the other parts go on',
      'retention: c kept (x is 0)',
      'retention: d freed 5 rows, 2 files, 3.0 KiB',
    ]);
    expect(lines[0]).toMatchObject({ part: 'a', rows: 1, files: 2, bytes: 3072 });
    expect(lines[1]).toMatchObject({ level: 50, part: 'b' });
  });

  it("leaves the shared parts to the server that claimed the day's run, and runs its local ones", async () => {
    const calls: string[] = [];
    const { logger, lines } = captureLogs();
    const prune = new DailyPrune({ shared: [part('db', calls)], local: [part('files', calls)] }, async () => false, logger);
    expect(await prune.prune(NOW)).toEqual([
      { part: 'db', elsewhere: true },
      { part: 'files', freed: { rows: 1, files: 2, bytes: 3072 } },
    ]);
    expect(calls).toEqual(['files']);
    expect(lines[0]!.msg).toBe("retention: another server ran today's prune of the database");
  });

  it('still runs the local parts when the claim itself fails', async () => {
    const calls: string[] = [];
    const { logger } = captureLogs();
    const prune = new DailyPrune(
      { shared: [part('db', calls)], local: [part('files', calls)] },
      async () => {
        throw new Error('database gone');
      },
      logger,
    );
    expect(await prune.prune(NOW)).toEqual([
      { part: 'db', error: 'database gone' },
      { part: 'files', freed: { rows: 1, files: 2, bytes: 3072 } },
    ]);
  });

  it('runs once a day as timed work, first at once', async () => {
    const calls: string[] = [];
    const prune = new DailyPrune({ shared: [], local: [part('p', calls)] }, async () => true, captureLogs().logger);
    await prune.run(NOW);
    await prune.run(new Date(NOW.getTime() + DAY - 1));
    expect(calls).toEqual(['p']);
    await prune.run(new Date(NOW.getTime() + DAY));
    expect(calls).toEqual(['p', 'p']);
  });
});

describe('the parts', () => {
  it('are off at 0 and say which setting keeps everything', () => {
    const never = async () => {
      throw new Error('not called');
    };
    expect(taskLogRetention({ pruneFinished: never }, 0).off).toBe('retention.taskLogDays is 0');
    expect(jobLogRetention({ prune: never }, 0).off).toBe('retention.jobLogDays is 0');
    expect(auditRetention({ pruneBefore: never }, { record: never }, 0).off).toBe('retention.auditDays is 0');
    expect(usageRetention({ prune: never }, 0).off).toBe('usage.retentionDays is 0');
    const deps = { bundles: { contentWithMoreThan: never, listForContent: never, inUse: never }, content: { byId: never }, service: { prune: never } };
    expect(bundleRetention({ ...deps, logger: createLogger('silent') }, 0).off).toBe('retention.bundlesPerItem is 0');
    expect(taskLogRetention({ pruneFinished: never }, 30).off).toBeUndefined();
  });

  it('task logs: what ended before the cut-off, counted as tasks and lines', async () => {
    let asked: Date | undefined;
    const part = taskLogRetention(
      {
        pruneFinished: async (before) => {
          asked = before;
          return { tasks: 2, lines: 40, bytes: 900 };
        },
      },
      30,
    );
    expect(await part.prune(NOW)).toEqual({ rows: 42, files: 0, bytes: 900 });
    expect(asked).toEqual(daysBefore(NOW, 30));
  });

  it('audit: removes entries past the cut-off and records that it did, only when it did', async () => {
    const recorded: unknown[] = [];
    let removed = 3;
    const part = auditRetention({ pruneBefore: async () => removed }, { record: async (...args) => void recorded.push(args) }, 365);
    expect(await part.prune(NOW)).toEqual({ rows: 3, files: 0, bytes: 0 });
    expect(recorded).toEqual([
      [{ userId: null, via: 'system' }, 'audit.prune', undefined, { removed: 3, before: daysBefore(NOW, 365).toISOString(), days: 365 }],
    ]);
    removed = 0;
    await part.prune(NOW);
    expect(recorded).toHaveLength(1);
  });

  it('bundles: skips one it cannot remove and goes on with the rest', async () => {
    const old = (id: number) => ({ id, createdTime: new Date(NOW.getTime() - 10 * DAY) });
    const tried: number[] = [];
    const part = bundleRetention(
      {
        bundles: {
          contentWithMoreThan: async () => [7],
          listForContent: async () => [old(1), old(2), old(3), old(4)] as never,
          inUse: async () => new Set<number>(),
        },
        content: { byId: async () => ({ id: 7, guid: GUID, bundleId: 4 }) as never },
        service: {
          prune: async (_c, b) => {
            tried.push(b.id);
            if (b.id === 1) throw new Error('EACCES');
            // 3 turned out to be in use (a deploy started meanwhile): not deleted.
            return b.id === 3 ? null : { rows: 1, files: 10, bytes: 100 };
          },
        },
        logger: createLogger('silent'),
      },
      1,
    );
    expect(await part.prune(NOW)).toEqual({ rows: 1, files: 10, bytes: 100 });
    expect(tried).toEqual([1, 2, 3]);
  });

  it('uploads: removes what was last written before the cut-off, keeps what is fresh', async () => {
    const dir = tempDir();
    const stale = aged(path.join(dir, 'upload-old.tar.gz'), new Date(NOW.getTime() - 25 * 3600_000), 'x'.repeat(100));
    const staleDir = aged(path.join(dir, 'staging-old'), new Date(NOW.getTime() - 48 * 3600_000), null);
    const fresh = aged(path.join(dir, 'upload-new.tar.gz'), new Date(NOW.getTime() - 3600_000));
    const part = uploadRetention({ leftovers: async () => [stale, staleDir, fresh, path.join(dir, 'vanished')] }, 24);
    expect(await part.prune(NOW)).toEqual({ rows: 0, files: 1, bytes: 100 });
    expect(readdirSync(dir)).toEqual(['upload-new.tar.gz']);
  });
});

describe('the runtime side', () => {
  it('job logs: removes jobs that ended before the cut-off and records-less leftovers, never a running job', async () => {
    const root = tempDir();
    const store = new JobStore(root);
    const job = (key: string, status: string, endTime: string | null) => {
      mkdirSync(path.join(root, GUID, key), { recursive: true });
      writeFileSync(path.join(root, GUID, key, 'job.json'), JSON.stringify({ key, contentGuid: GUID, status, endTime, startTime: '2026-01-01T00:00:00Z' }));
      writeFileSync(path.join(root, GUID, key, 'log.jsonl'), 'y'.repeat(50));
    };
    job('ended-old', 'exited', new Date(NOW.getTime() - 31 * DAY).toISOString());
    job('killed-old', 'killed', new Date(NOW.getTime() - 40 * DAY).toISOString());
    job('ended-new', 'exited', new Date(NOW.getTime() - DAY).toISOString());
    job('running', 'running', null);
    aged(path.join(root, GUID, 'no-record'), new Date(NOW.getTime() - 60 * DAY), null);
    aged(path.join(root, 'not-a-guid', 'x'), new Date(NOW.getTime() - 60 * DAY), null);
    const freed = await jobLogRetention(store, 30).prune(NOW);
    expect(freed.files).toBe(4);
    expect(freed.bytes).toBeGreaterThan(100);
    expect(readdirSync(path.join(root, GUID)).sort()).toEqual(['ended-new', 'running']);
    expect(existsSync(path.join(root, 'not-a-guid'))).toBe(true);
  });

  it('render output: removes what `keep` refuses and renders a dead server left half-written', async () => {
    const root = tempDir();
    const long = new Date(NOW.getTime() - 2 * DAY);
    const job = (rel: string) => aged(path.join(root, rel, 'index.html'), long, 'z'.repeat(10));
    job(`${GUID}/1/render-abc-000001`);
    job(`${GUID}/2/render-abc-000002`);
    job(`${GUID}/2/variants/vkey/render-abc-000003`);
    aged(path.join(root, GUID, '2', 'render-abc-000004.partial'), long, null);
    aged(path.join(root, GUID, '2', 'variants', 'vkey', 'render-abc-000005.partial'), long, null);
    aged(path.join(root, GUID, '2', 'render-abc-000006.partial'), NOW, null);
    job(`${OTHER}/9/render-abc-000007`);
    const asked: Array<[string, number | null]> = [];
    const freed = await pruneRenders(
      root,
      async (guid, bundle) => {
        asked.push([guid, bundle]);
        // OTHER was deleted; bundle 1 of GUID too.
        return guid === GUID && bundle !== 1;
      },
      new Date(NOW.getTime() - DAY),
    );
    expect(freed).toEqual({ rows: 0, files: 2, bytes: 20 });
    expect(readdirSync(root)).toEqual([GUID]);
    expect(readdirSync(path.join(root, GUID))).toEqual(['2']);
    expect(readdirSync(path.join(root, GUID, '2')).sort()).toEqual(['render-abc-000002', 'render-abc-000006.partial', 'variants']);
    expect(readdirSync(path.join(root, GUID, '2', 'variants', 'vkey'))).toEqual(['render-abc-000003']);
    expect(asked).toContainEqual([OTHER, null]);
    expect(asked).not.toContainEqual([OTHER, 9]);
  });

  it('a prune with nothing to do frees nothing', async () => {
    expect(await pruneRenders(path.join(tempDir(), 'none'), async () => false, NOW)).toEqual(NOTHING_FREED);
    expect(await new JobStore(path.join(tempDir(), 'none')).prune(NOW)).toEqual(NOTHING_FREED);
  });
});
