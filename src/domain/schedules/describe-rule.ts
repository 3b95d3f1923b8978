import type { ScheduleRule } from './schedule-rule.ts';

/** Connect's day numbers, 0 = Sunday. */
export const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
/** `dayweekofmonth.week`: 0–4 the first to the fifth such weekday, 5 the last (schedule-rule.ts). */
export const WEEK_OF_MONTH_NAMES = ['first', 'second', 'third', 'fourth', 'fifth', 'last'] as const;

const every = (n: number, unit: string) => (n === 1 ? `Every ${unit}` : `Every ${n} ${unit}s`);
const months = (n: number) => (n === 1 ? 'every month' : `every ${n} months`);

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** A rule in words, as a schedule's list shows it ("Every 2 days", "On the last Friday of every month"). */
export function describeRule(rule: ScheduleRule): string {
  switch (rule.type) {
    case 'minute':
    case 'hour':
    case 'day':
    case 'week':
    case 'year':
      return every(rule.n, rule.type);
    case 'weekday':
      return 'Every weekday (Monday to Friday)';
    case 'dayofweek':
      return `Every ${rule.days.map((d) => WEEKDAY_NAMES[d]).join(', ')}`;
    case 'semimonth':
      return rule.first ? 'On the 1st and the 15th of every month' : 'On the 14th and the last day of every month';
    case 'dayofmonth':
      return `On the ${ordinal(rule.day)} of ${months(rule.n)}`;
    case 'dayweekofmonth':
      return `On the ${WEEK_OF_MONTH_NAMES[rule.week]} ${WEEKDAY_NAMES[rule.day]} of ${months(rule.n)}`;
  }
}
