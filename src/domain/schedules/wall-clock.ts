import { IANAZone } from 'luxon';

const DAY_MS = 86_400_000;

/** A wall-clock time in some zone: its day number (calendar.ts) and milliseconds since midnight. */
export interface WallClock {
  day: number;
  msOfDay: number;
}

const zoneOf = (name: string): IANAZone => {
  const zone = IANAZone.create(name);
  if (!zone.isValid) throw new Error(`unknown time zone: ${name}`);
  return zone;
};

/** What a clock in `timeZone` shows at `instant` (epoch ms). */
export function toWallClock(instant: number, timeZone: string): WallClock {
  const local = instant + zoneOf(timeZone).offset(instant) * 60_000;
  const day = Math.floor(local / DAY_MS);
  return { day, msOfDay: local - day * DAY_MS };
}

/**
 * The instant a clock in `timeZone` shows `day` at `msOfDay`, so that a daily schedule runs
 * once a day across DST changes:
 * - a time that occurs twice (fall-back) is its first occurrence; luxon alone picks either one
 *   depending on the zone, so both offsets are tried here;
 * - a time that does not exist (spring-forward) moves forward by the size of the gap: 02:30
 *   becomes 03:30 in New York and Berlin, 02:15 becomes 02:45 on Lord Howe Island (30 minutes).
 */
export function fromWallClock(day: number, msOfDay: number, timeZone: string): number {
  const zone = zoneOf(timeZone);
  const naive = day * DAY_MS + msOfDay;
  // The offsets in force a day either side cover any single transition near this wall time.
  const offsets = [...new Set([zone.offset(naive - DAY_MS), zone.offset(naive), zone.offset(naive + DAY_MS)])];
  const matches = offsets.map((o) => naive - o * 60_000).filter((t) => naive - zone.offset(t) * 60_000 === t);
  if (matches.length > 0) return Math.min(...matches);
  // In a gap: read the wall time with the offset from before it (the smaller one, as clocks
  // went forward), which lands the length of the gap later on the clock.
  return naive - Math.min(...offsets) * 60_000;
}
