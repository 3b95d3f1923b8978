import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Rendering } from '../../src/domain/reports.ts';
import { Scheduler } from '../../scheduler/index.ts';

describe('the scheduler tells how late each claimed schedule is dispatched', () => {
  it('gives the seconds from the due time to the dispatch, for claimed schedules only', async () => {
    const now = new Date('2026-12-03T12:00:10Z');
    const due = (iso: string | null) => ({ id: 1, dueTime: iso === null ? null : new Date(iso) }) as Rendering;
    const batches = [[due('2026-12-03T12:00:00Z'), due('2026-12-03T11:59:58Z'), due(null)], []];
    const dispatched: Rendering[] = [];
    const lags: number[] = [];
    const scheduler = new Scheduler(
      { claimDue: async () => batches.shift() ?? [] } as never,
      {
        serverId: 's1',
        leaseFrom: (d: Date) => d,
        renew: async () => undefined,
        sweepLapsed: async () => [],
        dispatch: (r: Rendering) => void dispatched.push(r),
      },
      [],
      { tickSeconds: 2, batch: 3, onDispatched: (lag) => lags.push(lag) },
      () => now,
      pino({ level: 'silent' }),
    );
    const result = await scheduler.tick();
    expect(result.claimed).toBe(3);
    expect(dispatched).toHaveLength(3);
    expect(lags).toEqual([10, 12]);
  });
});
