/**
 * Calendar dates as day numbers: whole days since 1970-01-01 of a wall-clock date, in no time
 * zone. Schedule arithmetic counts days, weeks and months on these, so a rule anchored in 2001
 * jumps to this year in one step instead of walking there.
 */

const DAY_MS = 86_400_000;

/** The day number of `year`-`month`-`day` (month 1–12), proleptic Gregorian. */
export function dayNumber(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

/** The date of a day number; `monthIndex` is year × 12 + (month − 1), for counting months. */
export function civilDate(dayNum: number): { year: number; month: number; day: number; monthIndex: number } {
  const d = new Date(dayNum * DAY_MS);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1;
  return { year, month, day: d.getUTCDate(), monthIndex: year * 12 + month - 1 };
}

/** 0 = Sunday … 6 = Saturday, as Connect numbers days (1970-01-01 was a Thursday). */
export function weekdayOf(dayNum: number): number {
  return (((dayNum + 4) % 7) + 7) % 7;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
