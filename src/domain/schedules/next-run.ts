import { firstRuleDay } from './rule-dates.ts';
import type { ScheduleRule } from './schedule-rule.ts';
import { fromWallClock, toWallClock } from './wall-clock.ts';

const STEP_MS = { minute: 60_000, hour: 3_600_000 } as const;

/**
 * The first run of `rule` strictly after `after`, anchored on `startTime` in `timeZone`; never
 * before `startTime`, which is itself the first run when it satisfies the rule.
 *
 * Minute and hour rules are absolute intervals from the start time, unaffected by DST, as
 * Connect documents. Longer rules run at the start time's wall-clock time of day in
 * `timeZone` on the days the rule picks (rule-dates.ts), with wall-clock.ts's DST rules.
 *
 * Null only for a dayweekofmonth rule on a fifth weekday that none of its months has.
 * Throws on an unknown time zone for the rules that use it (schedule input is checked before it gets here).
 */
export function nextRun(rule: ScheduleRule, startTime: Date, timeZone: string, after: Date): Date | null {
  const start = startTime.getTime();
  const afterMs = after.getTime();
  if (rule.type === 'minute' || rule.type === 'hour') {
    const step = rule.n * STEP_MS[rule.type];
    return new Date(afterMs < start ? start : start + (Math.floor((afterMs - start) / step) + 1) * step);
  }
  // Only the longer rules need the wall clock (its zone arithmetic is most of this function's cost).
  const anchor = toWallClock(start, timeZone);
  // A day before `after`'s date is early enough: the loop below then runs a few times at most.
  let from = Math.max(anchor.day, toWallClock(afterMs, timeZone).day - 1);
  for (;;) {
    const day = firstRuleDay(rule, anchor.day, from);
    if (day === null) return null;
    // On the anchor's own date the run is the start time itself, exactly, even when its wall
    // time is the second of a fall-back's two.
    const run = day === anchor.day ? start : fromWallClock(day, anchor.msOfDay, timeZone);
    if (run > afterMs) return new Date(run);
    from = day + 1;
  }
}

/**
 * The runs of `rule` in [window.start, window.end), in order, at most `limit` of them (a
 * minute rule has ten thousand a week): nextRun after nextRun, so it agrees with the scheduler.
 */
export function runsBetween(rule: ScheduleRule, startTime: Date, timeZone: string, window: { start: Date; end: Date }, limit: number): Date[] {
  const out: Date[] = [];
  let at = nextRun(rule, startTime, timeZone, new Date(window.start.getTime() - 1));
  while (at && at < window.end && out.length < limit) {
    out.push(at);
    at = nextRun(rule, startTime, timeZone, at);
  }
  return out;
}
