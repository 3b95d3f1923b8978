import { describe, expect, it } from 'vitest';
import { parseScheduleRule, SCHEDULE_TYPES, type ScheduleRule } from '../../src/domain/schedules/schedule-rule.ts';
import { isValidTimeZone, timeZoneNames } from '../../src/domain/schedules/time-zones.ts';

describe('parseScheduleRule', () => {
  it.each<[string, string, ScheduleRule]>([
    ['minute', '{"N": 15}', { type: 'minute', n: 15 }],
    ['hour', '{"N": 2}', { type: 'hour', n: 2 }],
    ['day', '{"N": 3}', { type: 'day', n: 3 }],
    ['weekday', '{}', { type: 'weekday' }],
    ['week', '{"N": 2}', { type: 'week', n: 2 }],
    ['dayofweek', '{"Days": [0, 1, 6]}', { type: 'dayofweek', days: [0, 1, 6] }],
    // connectapi's jsonlite sends one day as a scalar.
    ['dayofweek', '{"Days": 1}', { type: 'dayofweek', days: [1] }],
    // Duplicates and order do not matter.
    ['dayofweek', '{"Days": [5, 1, 5]}', { type: 'dayofweek', days: [1, 5] }],
    ['semimonth', '{"First": true}', { type: 'semimonth', first: true }],
    ['semimonth', '{"First": false}', { type: 'semimonth', first: false }],
    ['dayofmonth', '{"N": 3, "Day": 4}', { type: 'dayofmonth', n: 3, day: 4 }],
    ['dayofmonth', '{"N": 1, "Day": 31}', { type: 'dayofmonth', n: 1, day: 31 }],
    ['dayweekofmonth', '{"N": 3, "Day": 1, "Week": 4}', { type: 'dayweekofmonth', n: 3, day: 1, week: 4 }],
    ['dayweekofmonth', '{"N": 1, "Day": 0, "Week": 0}', { type: 'dayweekofmonth', n: 1, day: 0, week: 0 }],
    ['dayweekofmonth', '{"N": 1, "Day": 6, "Week": 5}', { type: 'dayweekofmonth', n: 1, day: 6, week: 5 }],
    ['year', '{"N": 2}', { type: 'year', n: 2 }],
    // Keys a type does not use are ignored (clients send back what they were given).
    ['weekday', '{"N": 1}', { type: 'weekday' }],
    ['day', '{"N": 1, "next_run": "x"}', { type: 'day', n: 1 }],
  ])('accepts %s %s', (type, schedule, rule) => {
    expect(parseScheduleRule(type, schedule)).toEqual({ ok: true, rule });
  });

  it('knows all ten Connect types', () => {
    expect(SCHEDULE_TYPES).toHaveLength(10);
    const examples: Record<string, string> = {
      dayofweek: '{"Days": [1]}',
      semimonth: '{"First": true}',
      dayofmonth: '{"N": 1, "Day": 1}',
      dayweekofmonth: '{"N": 1, "Day": 1, "Week": 1}',
    };
    for (const type of SCHEDULE_TYPES) expect(parseScheduleRule(type, examples[type] ?? '{"N": 1}').ok).toBe(true);
  });

  it.each([
    ['monthly', '{"N": 1}', 'type: must be one of minute, hour, day, weekday, week, dayofweek, semimonth, dayofmonth, dayweekofmonth, year'],
    [undefined, '{"N": 1}', 'type: must be one of'],
    ['Minute', '{"N": 1}', 'type: must be one of'],
    ['minute', { N: 1 }, 'schedule: must be a string holding a JSON object'],
    ['minute', '{N: 1}', 'schedule: is not valid JSON'],
    ['minute', '[1]', 'schedule: must be a JSON object'],
    ['minute', 'null', 'schedule: must be a JSON object'],
    ['minute', '{}', 'schedule.N: must be a number'],
    ['minute', '{"N": 0}', 'schedule.N: must be at least 1'],
    ['hour', '{"N": -2}', 'schedule.N: must be at least 1'],
    ['day', '{"N": 1.5}', 'schedule.N: must be a whole number'],
    ['week', '{"N": "2"}', 'schedule.N: must be a number'],
    ['year', '{"N": null}', 'schedule.N: must be a number'],
    ['dayofweek', '{}', 'schedule.Days: must be a list of days'],
    ['dayofweek', '{"Days": []}', 'schedule.Days: must name at least one day'],
    ['dayofweek', '{"Days": 7}', 'schedule.Days.0: must be 0 (Sunday) to 6 (Saturday)'],
    ['dayofweek', '{"Days": [1, -1]}', 'schedule.Days.1: must be 0 (Sunday) to 6 (Saturday)'],
    ['dayofweek', '{"Days": ["Monday"]}', 'schedule.Days.0: must be a number'],
    ['semimonth', '{}', 'schedule.First: must be true or false'],
    ['semimonth', '{"First": "TRUE"}', 'schedule.First: must be true or false'],
    ['dayofmonth', '{"N": 1}', 'schedule.Day: must be a number'],
    ['dayofmonth', '{"N": 1, "Day": 0}', 'schedule.Day: must be 1 to 31'],
    ['dayofmonth', '{"N": 1, "Day": 32}', 'schedule.Day: must be 1 to 31'],
    ['dayofmonth', '{"N": 0, "Day": 40}', 'schedule.N: must be at least 1; schedule.Day: must be 1 to 31'],
    ['dayweekofmonth', '{"N": 1, "Day": 7, "Week": 0}', 'schedule.Day: must be 0 (Sunday) to 6 (Saturday)'],
    ['dayweekofmonth', '{"N": 1, "Day": 1, "Week": 6}', 'schedule.Week: must be 0 to 5'],
    ['dayweekofmonth', '{"N": 1, "Day": 1, "Week": -1}', 'schedule.Week: must be 0 to 5'],
    ['dayweekofmonth', '{"N": 1, "Day": 1}', 'schedule.Week: must be a number'],
  ])('rejects %s %j naming the field', (type, schedule, message) => {
    const parsed = parseScheduleRule(type, schedule);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });
});

describe('time zones', () => {
  it.each(['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'UTC', 'Etc/UTC', 'US/Eastern'])('accepts %s', (zone) => {
    expect(isValidTimeZone(zone)).toBe(true);
  });

  it.each(['Mars/Olympus_Mons', '', 'EST5EDT6', '+05:00', 42, null])('rejects %j', (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
  });

  it('lists every zone the server knows plus UTC and Etc/UTC, sorted, each one valid', () => {
    const names = timeZoneNames();
    expect(names).toContain('UTC');
    expect(names).toContain('Etc/UTC');
    expect(names).toContain('America/New_York');
    expect(names).toContain('Australia/Lord_Howe');
    expect(names.length).toBeGreaterThan(300);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(names);
    expect(names.filter((n) => !isValidTimeZone(n))).toEqual([]);
  });
});
