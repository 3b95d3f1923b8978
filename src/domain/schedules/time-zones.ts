import { IANAZone } from 'luxon';

/**
 * Whether `name` is an IANA time zone this server can compute schedules in (a schedule's
 * `timezone`). Links such as `US/Eastern` and `Etc/UTC` count: clients send what their OS says
 * (connectapi sends R's `Sys.timezone()`).
 */
export function isValidTimeZone(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && IANAZone.isValidZone(name);
}

/**
 * The zone names `GET /v1/timezones` lists, sorted: Intl's list, the `extra` names (the system's
 * tz database, with its links) that this server can compute in, and `UTC` and `Etc/UTC`.
 * Node's list holds ICU's canonical names, some of them old (`Asia/Calcutta`, not
 * `Asia/Kolkata`), and clients send what their OS says; connectapi refuses to describe a
 * schedule whose zone is not in this list (connect-api-next.md §3.7).
 */
export function timeZoneNames(extra: readonly string[] = []): string[] {
  return [...new Set([...Intl.supportedValuesOf('timeZone'), ...extra.filter(isValidTimeZone), 'UTC', 'Etc/UTC'])].sort();
}

/** A zone's UTC offset at `at`, as `±HH:MM` (what `GET /v1/timezones` shows beside each name). */
export function zoneOffset(name: string, at: Date): string {
  const minutes = IANAZone.create(name).offset(at.getTime());
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
