// Ids arrive from URLs and JSON. PostgreSQL rejects a malformed uuid or an out-of-range
// integer with an error (a 500), where SQLite quietly finds nothing; checking the shape first
// gives every caller the same 404 on both databases.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ID = 2_147_483_647;

export function isGuid(s: unknown): s is string {
  return typeof s === 'string' && GUID.test(s);
}

/** A positive integer id that fits the database's integer columns, or undefined. */
export function asId(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 && n <= MAX_ID ? n : undefined;
}
