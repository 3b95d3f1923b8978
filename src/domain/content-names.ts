/**
 * Connect's content name rule, which both deploy clients follow when they make names
 * (connect-api.md §3.3, §5.3): 3 to 64 letters, digits, `_` and `-`.
 */
export const CONTENT_NAME_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
const MAX = 64;

/**
 * A name made from a title the way rsconnect's generateAppName() makes one (connect-api.md
 * §3.3): lowercased, spaces to `_`, anything else outside the rule dropped, cut to 64.
 * Undefined when fewer than 3 characters are left (a title of symbols, or none).
 */
export function nameFromTitle(title: string | null | undefined): string | undefined {
  const name = (title ?? '')
    .toLowerCase()
    .trim()
    .replace(/\s+/g, '_')
    .replace(/[^a-z0-9_-]/g, '')
    .slice(0, MAX);
  return CONTENT_NAME_PATTERN.test(name) ? name : undefined;
}

/** `content-<suffix>`: for an item with no usable title. */
export const fallbackName = (suffix: string) => `content-${suffix}`;

/** `base-suffix`, the base cut so the whole stays within 64 characters: another try after a clash. */
export const withSuffix = (base: string, suffix: string) => `${base.slice(0, MAX - suffix.length - 1)}-${suffix}`;
