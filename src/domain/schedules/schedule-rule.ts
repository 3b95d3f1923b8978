import { z } from 'zod';

/** Connect's schedule types (connect-api-next.md §3.6), in the order its clients list them. */
export const SCHEDULE_TYPES = ['minute', 'hour', 'day', 'weekday', 'week', 'dayofweek', 'semimonth', 'dayofmonth', 'dayweekofmonth', 'year'] as const;
type ScheduleType = (typeof SCHEDULE_TYPES)[number];

/**
 * A schedule's rule once its `type` and `schedule` JSON have been checked. Days of the week are
 * 0 = Sunday … 6 = Saturday, as Connect sends them.
 *
 * `dayweekofmonth.week`: 0–4 is the first to the fifth such weekday of the month, and 5 is the
 * last one. Connect documents the range 0–5 and no more; six values are five ordinals plus
 * "last", the choice every calendar offers, and 0-based like `Day`. A month without a fifth
 * such weekday is skipped (see rule-dates.ts), so 5 ("last") is the one that runs every month.
 */
export type ScheduleRule =
  | Every<'minute' | 'hour' | 'day' | 'week' | 'year'>
  | { type: 'weekday' }
  | { type: 'dayofweek'; days: number[] }
  | { type: 'semimonth'; first: boolean }
  | { type: 'dayofmonth'; n: number; day: number }
  | { type: 'dayweekofmonth'; n: number; day: number; week: number };

/** One member per type (distributed), so that a switch on `type` narrows to it. */
type Every<T extends ScheduleType> = T extends ScheduleType ? { type: T; n: number } : never;

type ParsedRule = { ok: true; rule: ScheduleRule } | { ok: false; message: string };

const count = z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1');
const weekDay = z
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be 0 (Sunday) to 6 (Saturday)')
  .max(6, 'must be 0 (Sunday) to 6 (Saturday)');
const monthDay = z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be 1 to 31').max(31, 'must be 1 to 31');
const week = z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 to 5').max(5, 'must be 0 to 5');

// Keys a type does not use are ignored, not rejected: connectapi sends back whatever the server
// returned, and nothing says Connect refuses extra keys, so refusing them could break a client.
const every = <T extends 'minute' | 'hour' | 'day' | 'week' | 'year'>(type: T) => z.object({ N: count }).transform((b) => ({ type, n: b.N }));
const bodies = {
  minute: every('minute'),
  hour: every('hour'),
  day: every('day'),
  weekday: z.object({}).transform(() => ({ type: 'weekday' as const })),
  week: every('week'),
  // connectapi sends a single day as a scalar ({"Days": 1}, jsonlite's auto_unbox): accept both.
  dayofweek: z
    .object({
      Days: z.preprocess((v) => (typeof v === 'number' ? [v] : v), z.array(weekDay, { error: 'must be a list of days' }).min(1, 'must name at least one day')),
    })
    .transform((b) => ({ type: 'dayofweek' as const, days: [...new Set(b.Days)].sort((x, y) => x - y) })),
  semimonth: z.object({ First: z.boolean({ error: 'must be true or false' }) }).transform((b) => ({ type: 'semimonth' as const, first: b.First })),
  dayofmonth: z.object({ N: count, Day: monthDay }).transform((b) => ({ type: 'dayofmonth' as const, n: b.N, day: b.Day })),
  dayweekofmonth: z.object({ N: count, Day: weekDay, Week: week }).transform((b) => ({ type: 'dayweekofmonth' as const, n: b.N, day: b.Day, week: b.Week })),
  year: every('year'),
} satisfies Record<ScheduleType, z.ZodType<ScheduleRule, unknown>>;

const isScheduleType = (t: unknown): t is ScheduleType => typeof t === 'string' && (SCHEDULE_TYPES as readonly string[]).includes(t);

/**
 * Checks a schedule's `type` and its `schedule` (a string holding JSON, as Connect's API carries
 * it). A failure's message names the field ("schedule.N: must be at least 1"), for a 400.
 */
export function parseScheduleRule(type: unknown, schedule: unknown): ParsedRule {
  if (!isScheduleType(type)) return { ok: false, message: `type: must be one of ${SCHEDULE_TYPES.join(', ')}` };
  if (typeof schedule !== 'string') return { ok: false, message: 'schedule: must be a string holding a JSON object' };
  let raw: unknown;
  try {
    raw = JSON.parse(schedule);
  } catch {
    return { ok: false, message: 'schedule: is not valid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, message: 'schedule: must be a JSON object' };
  const parsed = bodies[type].safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${['schedule', ...i.path.map(String)].join('.')}: ${i.message}`);
    return { ok: false, message: problems.join('; ') };
  }
  return { ok: true, rule: parsed.data };
}
