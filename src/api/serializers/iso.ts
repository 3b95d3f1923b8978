/** Connect's timestamp format: RFC 3339 in UTC, whole seconds. */
export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null);
