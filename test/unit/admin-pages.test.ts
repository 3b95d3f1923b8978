import { describe, expect, it } from 'vitest';
import { runsBetween } from '../../src/domain/schedules/next-run.ts';
import { parseScheduleRule, type ScheduleRule } from '../../src/domain/schedules/schedule-rule.ts';
import { diskSpaceOf, diskWarning, formatBytes } from '../../src/domain/disk-space.ts';
import { utcDay } from '../../src/web/pages/admin-audit.ts';
import { adminContentQuery } from '../../src/web/pages/admin-content.ts';
import { agendaByUtcDay } from '../../src/web/pages/admin-schedules.ts';
import { formatUptime } from '../../src/web/pages/admin-status.ts';

function rule(type: string, schedule: string): ScheduleRule {
  const parsed = parseScheduleRule(type, schedule);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.rule;
}

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe('runsBetween: a schedule’s runs in a window', () => {
  const week = { start: new Date('2026-03-02T12:00:00Z'), end: new Date('2026-03-09T12:00:00Z') };

  it('lists every run of an hourly rule in the window, in order', () => {
    const runs = runsBetween(rule('hour', '{"N": 12}'), new Date('2026-01-01T00:00:00Z'), 'UTC', week, 100);
    expect(runs).toHaveLength(14);
    expect(runs[0]!.toISOString()).toBe('2026-03-02T12:00:00.000Z');
    expect(runs.at(-1)!.toISOString()).toBe('2026-03-09T00:00:00.000Z');
  });

  it('includes a run at the window’s start and excludes one at its end', () => {
    const runs = runsBetween(rule('day', '{"N": 1}'), new Date('2026-01-01T12:00:00Z'), 'UTC', week, 100);
    expect(runs[0]!.toISOString()).toBe('2026-03-02T12:00:00.000Z');
    expect(runs.at(-1)!.toISOString()).toBe('2026-03-08T12:00:00.000Z');
  });

  it('keeps the wall-clock time across a DST change, as the scheduler does', () => {
    // New York moves to EDT on 8 March 2026: 09:00 local is 14:00 UTC before, 13:00 after.
    const runs = runsBetween(rule('day', '{"N": 1}'), new Date('2026-01-01T14:00:00Z'), 'America/New_York', week, 100);
    expect(iso(runs).slice(-3)).toEqual(['2026-03-06T14:00:00.000Z', '2026-03-07T14:00:00.000Z', '2026-03-08T13:00:00.000Z']);
  });

  it('stops at the limit, and gives nothing before a start time after the window', () => {
    expect(runsBetween(rule('minute', '{"N": 1}'), new Date('2026-01-01T00:00:00Z'), 'UTC', week, 5)).toHaveLength(5);
    expect(runsBetween(rule('day', '{"N": 1}'), new Date('2026-04-01T00:00:00Z'), 'UTC', week, 5)).toEqual([]);
  });
});

describe('the admin pages’ helpers', () => {
  it('groups agenda runs by UTC day, in time order', () => {
    const run = (at: string, title: string) => ({ at: new Date(at), title, guid: 'g', variant: 'default' });
    const days = agendaByUtcDay([run('2026-03-03T01:00:00Z', 'b'), run('2026-03-02T23:30:00Z', 'a'), run('2026-03-03T00:10:00Z', 'c')]);
    expect(days.map((d) => [d.day, d.runs.map((r) => r.title)])).toEqual([
      ['2026-03-02', ['a']],
      ['2026-03-03', ['c', 'b']],
    ]);
    expect(agendaByUtcDay([])).toEqual([]);
  });

  it('reads a date input as the start of that UTC day, and nothing else', () => {
    expect(utcDay('2026-03-02')?.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    for (const bad of ['', '2026-02-30', '2026-3-2', '02/03/2026', '2026-03-02T00:00']) expect(utcDay(bad), bad).toBeUndefined();
  });

  it('adds the unpublished filter to the typed query', () => {
    expect(adminContentQuery('  sales ', false)).toBe('sales');
    expect(adminContentQuery('', true)).toBe('is:unpublished');
    expect(adminContentQuery('owner:alice', true)).toBe('owner:alice is:unpublished');
  });

  it('writes an uptime and a size for people', () => {
    expect(formatUptime(59_000)).toBe('0 min');
    expect(formatUptime(3 * 3_600_000 + 5 * 60_000)).toBe('3 h 5 min');
    expect(formatUptime(2 * 86_400_000 + 60_000)).toBe('2 d 0 h 1 min');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 ** 3)).toBe('20.0 GiB');
  });

  it('calls disk space low under 2 GiB or a tenth of the disk free (the defaults), either threshold off at 0', () => {
    const GiB = 1024 ** 3;
    const defaults = { minFreeDiskPercent: 10, minFreeDiskBytes: 2 * GiB };
    // statfs in 4 KiB blocks.
    const fs = (free: number, total: number) => ({ bavail: free / 4096, blocks: total / 4096, bsize: 4096 });
    expect(diskSpaceOf(fs(1.5 * GiB, 1000 * GiB), defaults).low).toBe(true);
    expect(diskSpaceOf(fs(50 * GiB, 1000 * GiB), defaults).low).toBe(true);
    expect(diskSpaceOf(fs(150 * GiB, 1000 * GiB), defaults).low).toBe(false);
    expect(diskSpaceOf(fs(3 * GiB, 10 * GiB), defaults).low).toBe(false);
    expect(diskSpaceOf(fs(50 * GiB, 1000 * GiB), { minFreeDiskPercent: 0, minFreeDiskBytes: 2 * GiB }).low).toBe(false);
    expect(diskSpaceOf(fs(1.5 * GiB, 1000 * GiB), { minFreeDiskPercent: 0, minFreeDiskBytes: 0 }).low).toBe(false);
    const d = diskSpaceOf(fs(50 * GiB, 1000 * GiB), defaults);
    expect(d).toEqual({ freeBytes: 50 * GiB, totalBytes: 1000 * GiB, freePercent: 5, low: true });
    expect(diskWarning(d, defaults)).toBe('Low on disk space: 50.0 GiB (5%) free in the data directory, under 10% or 2.0 GiB.');
    expect(diskWarning(diskSpaceOf(fs(150 * GiB, 1000 * GiB), defaults), defaults)).toBeNull();
  });
});
