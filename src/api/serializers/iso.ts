/**
 * Connect's timestamp format, the one every API answer uses: RFC 3339 in UTC, whole seconds
 * (`2026-12-03T10:00:00Z`). Takes a Date, or an ISO string as the runtime records it (jobs).
 */
export const iso = (d: Date | string | null | undefined): string | null => {
  if (d === null || d === undefined || d === '') return null;
  const t = typeof d === 'string' ? new Date(d) : d;
  return Number.isNaN(t.getTime()) ? null : t.toISOString().replace(/\.\d{3}Z$/, 'Z');
};
