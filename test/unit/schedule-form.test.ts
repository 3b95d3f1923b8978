import { describe, expect, it } from 'vitest';
import { describeRule } from '../../src/domain/schedules/describe-rule.ts';
import type { Schedule } from '../../src/domain/reports.ts';
import { formValues, localInput, scheduleFromForm } from '../../src/web/pages/schedule-form.ts';

const form = (over: Record<string, unknown>) => ({ type: 'day', n: '1', start: '2030-01-07T09:00', timezone: 'UTC', ...over });

describe('the Schedule form', () => {
  it("reads the first run as a wall-clock time in the chosen zone, and writes the rule in Connect's JSON", () => {
    expect(scheduleFromForm(form({ type: 'dayofweek', days: ['1', '3'], timezone: 'Europe/Berlin', email: 'on' }))).toEqual({
      type: 'dayofweek',
      schedule: '{"Days":[1,3]}',
      startTime: '2030-01-07T08:00:00.000Z',
      timezone: 'Europe/Berlin',
      email: true,
    });
    expect(scheduleFromForm(form({ type: 'dayweekofmonth', n: '2', weekday: '5', week: '5' })).schedule).toBe('{"N":2,"Day":5,"Week":5}');
    expect(scheduleFromForm(form({ type: 'semimonth', first: 'false' })).schedule).toBe('{"First":false}');
    expect(scheduleFromForm(form({ type: 'weekday' })).schedule).toBe('{}');
    // A single checked day arrives as a string, not a list.
    expect(scheduleFromForm(form({ type: 'dayofweek', days: '0' })).schedule).toBe('{"Days":[0]}');
  });

  it('moves a start in a spring-forward gap to the wall time after it, as the scheduler does', () => {
    // 02:30 on 2030-03-10 does not exist in New York: 03:30 EDT.
    expect(scheduleFromForm(form({ start: '2030-03-10T02:30', timezone: 'America/New_York' })).startTime).toBe('2030-03-10T07:30:00.000Z');
  });

  it('refuses, in words a reader understands, what the API would refuse', () => {
    expect(() => scheduleFromForm(form({ type: 'fortnightly' }))).toThrow('Choose how often it runs.');
    expect(() => scheduleFromForm(form({ n: '0' }))).toThrow('how many: must be at least 1');
    expect(() => scheduleFromForm(form({ n: 'x' }))).toThrow('how many: must be a number');
    expect(() => scheduleFromForm(form({ type: 'dayofweek' }))).toThrow('days: must name at least one day');
    expect(() => scheduleFromForm(form({ type: 'dayofmonth', month_day: '32' }))).toThrow('day: must be 1 to 31');
    expect(() => scheduleFromForm(form({ timezone: 'Mars/Olympus' }))).toThrow('Choose a time zone');
    expect(() => scheduleFromForm(form({ start: '2030-02-30T09:00' }))).toThrow('a real date');
    expect(() => scheduleFromForm(form({ start: 'tomorrow' }))).toThrow('as a date and time');
  });

  it('shows a saved schedule as it was chosen, and a new one daily from the next whole hour', () => {
    const saved = { type: 'dayofmonth', schedule: '{"N":3,"Day":31}', startTime: new Date('2030-01-31T08:00:00Z'), timezone: 'Europe/Berlin', email: true };
    expect(formValues(saved as Schedule, 'UTC', new Date())).toMatchObject({
      type: 'dayofmonth',
      n: 3,
      monthDay: 31,
      start: '2030-01-31T09:00',
      timezone: 'Europe/Berlin',
      email: true,
    });
    expect(formValues(undefined, 'Asia/Tokyo', new Date('2030-06-01T10:20:00Z'))).toMatchObject({
      type: 'day',
      n: 1,
      start: '2030-06-01T20:00',
      timezone: 'Asia/Tokyo',
    });
    expect(localInput(new Date('2030-07-01T12:05:00Z'), 'America/New_York')).toBe('2030-07-01T08:05');
  });
});

describe('schedules in words', () => {
  it('says a rule in words', () => {
    expect(describeRule({ type: 'day', n: 1 })).toBe('Every day');
    expect(describeRule({ type: 'hour', n: 6 })).toBe('Every 6 hours');
    expect(describeRule({ type: 'dayofweek', days: [1, 3] })).toBe('Every Monday, Wednesday');
    expect(describeRule({ type: 'dayofmonth', n: 1, day: 22 })).toBe('On the 22nd of every month');
    expect(describeRule({ type: 'dayofmonth', n: 3, day: 11 })).toBe('On the 11th of every 3 months');
    expect(describeRule({ type: 'dayweekofmonth', n: 1, day: 5, week: 5 })).toBe('On the last Friday of every month');
    expect(describeRule({ type: 'semimonth', first: false })).toBe('On the 14th and the last day of every month');
  });
});
