import { civilDate, dayNumber, daysInMonth, weekdayOf } from './calendar.ts';
import type { ScheduleRule } from './schedule-rule.ts';

/** The rules that run on calendar days at the anchor's time of day (all but minute and hour). */
export type CalendarRule = Exclude<ScheduleRule, { type: 'minute' | 'hour' }>;

// The Gregorian calendar repeats every 400 years (4800 months), weekdays included: a monthly
// rule that finds no day in that many of its months never will.
const CALENDAR_CYCLE_MONTHS = 4800;

/**
 * The first day (day number, calendar.ts) on or after `from` on which `rule` runs, counting
 * every N days, weeks, months or years from `anchor` (the start time's date); `from` is never
 * before `anchor`. Null when the rule can never run again (see `nthWeekday`).
 */
export function firstRuleDay(rule: CalendarRule, anchor: number, from: number): number | null {
  switch (rule.type) {
    case 'day':
      return onStep(anchor, from, rule.n);
    case 'week':
      return onStep(anchor, from, 7 * rule.n);
    case 'weekday':
      return firstWeekday(from, [1, 2, 3, 4, 5]);
    case 'dayofweek':
      return firstWeekday(from, rule.days);
    case 'semimonth':
      // First: the 1st and the 15th; otherwise the 14th and the month's last day.
      return inMonths(anchor, 1, from, (y, m) =>
        rule.first ? [dayNumber(y, m, 1), dayNumber(y, m, 15)] : [dayNumber(y, m, 14), dayNumber(y, m, daysInMonth(y, m))],
      );
    case 'dayofmonth':
      // A day the month does not have (the 31st in April, the 30th in February) is its last day:
      // "monthly on the 31st" means "at the end of every month" to whoever picks it.
      return inMonths(anchor, rule.n, from, (y, m) => [dayNumber(y, m, Math.min(rule.day, daysInMonth(y, m)))]);
    case 'dayweekofmonth':
      return inMonths(anchor, rule.n, from, (y, m) => nthWeekday(y, m, rule.day, rule.week));
    case 'year': {
      // The anchor's month and day every N years; 29 February is the 28th in other years.
      const { day } = civilDate(anchor);
      return inMonths(anchor, 12 * rule.n, from, (y, m) => [dayNumber(y, m, Math.min(day, daysInMonth(y, m)))]);
    }
  }
}

/** anchor + k·step for the smallest k with a result on or after `from`. */
function onStep(anchor: number, from: number, step: number): number {
  return anchor + Math.ceil((from - anchor) / step) * step;
}

function firstWeekday(from: number, weekdays: readonly number[]): number | null {
  for (let d = from; d < from + 7; d++) if (weekdays.includes(weekdayOf(d))) return d;
  return null;
}

/**
 * The first day on or after `from` among `daysOf(year, month)` (ascending) in the months
 * `every` apart counted from the anchor's month. Jumps straight to the first such month that
 * is not before `from`'s.
 */
function inMonths(anchor: number, every: number, from: number, daysOf: (year: number, month: number) => number[]): number | null {
  const first = civilDate(anchor).monthIndex;
  const k0 = Math.max(0, Math.ceil((civilDate(from).monthIndex - first) / every));
  for (let k = k0; k <= k0 + CALENDAR_CYCLE_MONTHS; k++) {
    const index = first + k * every;
    const year = Math.floor(index / 12);
    const hit = daysOf(year, index - year * 12 + 1).find((d) => d >= from);
    if (hit !== undefined) return hit;
  }
  return null;
}

/**
 * The `week`-th `weekday` of a month: week 0–4 is the first to the fifth, 5 the last.
 *
 * A fifth one the month does not have (the 5th Monday of a month with four) is no run that
 * month: the schedule skips to its next month that has one. Clamping it to the last one would
 * make "fifth" a copy of "last" (week 5) in most months, and whoever picked "fifth" over
 * "last" wants the months with five. A rule that can never land on such a month (every 24
 * months on February of odd years) never runs.
 */
function nthWeekday(year: number, month: number, weekday: number, week: number): number[] {
  const last = dayNumber(year, month, daysInMonth(year, month));
  if (week === 5) return [last - ((weekdayOf(last) - weekday + 7) % 7)];
  const firstDay = dayNumber(year, month, 1);
  const d = firstDay + ((weekday - weekdayOf(firstDay) + 7) % 7) + 7 * week;
  return d <= last ? [d] : [];
}
