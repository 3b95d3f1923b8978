import { civilDate, dayNumber } from '../../domain/schedules/calendar.ts';
import { SCHEDULE_TYPES, parseScheduleRule, type ScheduleRule } from '../../domain/schedules/schedule-rule.ts';
import { isValidTimeZone } from '../../domain/schedules/time-zones.ts';
import { fromWallClock, toWallClock } from '../../domain/schedules/wall-clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { Schedule } from '../../domain/reports.ts';

/** What the Schedule form shows and sends: the rule's parts, and the start as a wall-clock time in its zone. */
export interface ScheduleFormValues {
  type: string;
  n: number;
  days: number[];
  first: boolean;
  monthDay: number;
  weekday: number;
  week: number;
  /** `YYYY-MM-DDTHH:MM`, as `<input type="datetime-local">` has it, in `timezone`. */
  start: string;
  timezone: string;
  email: boolean;
}

/** What a schedule's save takes (the ScheduleService checks the rule again, as for the API). */
export interface ScheduleFormInput {
  type: string;
  schedule: string;
  startTime: string;
  timezone: string;
  email: boolean;
}

const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
const DAY_MS = 86_400_000;
const pad = (n: number) => String(n).padStart(2, '0');

/** A wall-clock time in a zone as `datetime-local` shows it. */
export function localInput(instant: Date, timeZone: string): string {
  const { day, msOfDay } = toWallClock(instant.getTime(), timeZone);
  const { year, month, day: dom } = civilDate(day);
  const minutes = Math.floor(msOfDay / 60_000);
  return `${year}-${pad(month)}-${pad(dom)}T${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** The form's values for a new schedule (daily from the next whole hour, in `timeZone`) or a saved one. */
export function formValues(saved: Schedule | undefined, timeZone: string, now: Date): ScheduleFormValues {
  const blank: ScheduleFormValues = {
    type: 'day',
    n: 1,
    days: [1],
    first: true,
    monthDay: 1,
    weekday: 1,
    week: 0,
    start: localInput(new Date(Math.ceil(now.getTime() / 3_600_000) * 3_600_000), timeZone),
    timezone: timeZone,
    email: false,
  };
  if (!saved) return blank;
  const parsed = parseScheduleRule(saved.type, saved.schedule);
  const values = { ...blank, type: saved.type, start: localInput(saved.startTime, saved.timezone), timezone: saved.timezone, email: saved.email };
  return parsed.ok ? { ...values, ...ruleValues(parsed.rule) } : values;
}

function ruleValues(rule: ScheduleRule): Partial<ScheduleFormValues> {
  switch (rule.type) {
    case 'weekday':
      return {};
    case 'dayofweek':
      return { days: rule.days };
    case 'semimonth':
      return { first: rule.first };
    case 'dayofmonth':
      return { n: rule.n, monthDay: rule.day };
    case 'dayweekofmonth':
      return { n: rule.n, weekday: rule.day, week: rule.week };
    default:
      return { n: rule.n };
  }
}

// The rule's field names as the form labels them, in parseScheduleRule's messages.
const FIELD_WORDS: Record<string, string> = { N: 'how many', Days: 'days', Day: 'day', Week: 'which week' };
const fieldWords = (message: string) => message.replace(/schedule\.(\w+)(\.\d+)?/g, (_m, f: string) => FIELD_WORDS[f] ?? f);

const int = (v: unknown): number => (typeof v === 'string' && /^\d{1,6}$/.test(v.trim()) ? Number(v.trim()) : NaN);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/**
 * The posted form as a schedule: the rule's JSON in Connect's shape (`{"N":2}`, `{"Days":[1,3]}`…)
 * and the start, read as a wall-clock time in the chosen zone, as an instant. The rule's own
 * checks are parseScheduleRule's, so the form and the API refuse the same things.
 */
export function scheduleFromForm(body: Record<string, unknown>): ScheduleFormInput {
  const type = String(body.type ?? '');
  if (!(SCHEDULE_TYPES as readonly string[]).includes(type)) throw AppError.badRequest('Choose how often it runs.');
  const n = int(body.n);
  const bodies: Record<string, Record<string, unknown>> = {
    weekday: {},
    dayofweek: { Days: list(body.days).map(int) },
    semimonth: { First: body.first !== 'false' },
    dayofmonth: { N: n, Day: int(body.month_day) },
    dayweekofmonth: { N: n, Day: int(body.weekday), Week: int(body.week) },
  };
  const schedule = JSON.stringify(bodies[type] ?? { N: n });
  const rule = parseScheduleRule(type, schedule);
  if (!rule.ok) throw AppError.badRequest(`The schedule is not valid: ${fieldWords(rule.message)}.`);

  const timezone = String(body.timezone ?? '');
  if (!isValidTimeZone(timezone)) throw AppError.badRequest('Choose a time zone from the list.');
  const m = LOCAL_TIME.exec(String(body.start ?? '').trim());
  if (!m) throw AppError.badRequest('Give the first run as a date and time.');
  const [year, month, day, hour, minute, second] = m.slice(1).map((p) => Number(p ?? 0)) as [number, number, number, number, number, number];
  const date = dayNumber(year, month, day);
  if (civilDate(date).day !== day || hour > 23 || minute > 59 || second > 59 || year < 1970)
    throw AppError.badRequest('Give the first run as a real date and time.');
  const msOfDay = ((hour * 60 + minute) * 60 + second) * 1000;
  const startTime = new Date(fromWallClock(date, Math.min(msOfDay, DAY_MS - 1), timezone)).toISOString();
  return { type, schedule, startTime, timezone, email: body.email === 'on' };
}
