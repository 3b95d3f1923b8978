import { readFileSync } from 'node:fs';
import { timeZoneNames } from '../../domain/schedules/time-zones.ts';

// Debian's tzdata: `Z <zone> ...` and `L <target> <link>` lines name every zone and alias.
const TZDATA = '/usr/share/zoneinfo/tzdata.zi';

let cached: string[] | undefined;

/** Every zone name a schedule may use, read once: Intl's, plus the system tz database's when it has one. */
export function knownTimeZones(): string[] {
  if (cached) return cached;
  let names: string[] = [];
  try {
    names = readFileSync(TZDATA, 'utf8')
      .split('\n')
      .flatMap((line) => {
        const f = line.split(' ');
        return f[0] === 'Z' && f[1] ? [f[1]] : f[0] === 'L' && f[2] ? [f[2]] : [];
      });
  } catch {
    // No tz database file: Intl's names only.
  }
  cached = timeZoneNames(names);
  return cached;
}
