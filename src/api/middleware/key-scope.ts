import type { Request } from 'express';
import { AppError } from '../../domain/errors.ts';
import type { ContentKeyScope } from '../../domain/user.ts';

const READS = new Set(['GET', 'HEAD']);
const SEGMENT = '[a-z0-9_-]+';

// What a content process may ask of the API besides its own item: who it is, the server's
// settings, and who its viewers are (the calls connectapi and posit-sdk make for an app).
// Matched against the lower-cased path (Express routes ignore case) without a trailing slash.
const VIEWER_READS = [
  /^\/server_settings$/,
  /^\/v1\/server_settings\/(python|r)$/,
  /^\/users\/current$/,
  /^\/me$/,
  /^\/v1\/user$/,
  new RegExp(`^/v1/users(/${SEGMENT})?$`),
  new RegExp(`^/v1/groups(/${SEGMENT}(/members)?)?$`),
];

const PROCESS_KEY_REFUSED =
  'This API key belongs to a content process: it can only read its own content and look up users and groups. Use a key of your own for anything else.';

/**
 * Whether a content process's key may make this API request: a read (GET, HEAD) of its own
 * item and its subresources (v1, or the v0 application), or of the viewer lookups above.
 * An allow-list: a route added later is refused to process keys until it is listed here.
 */
function processKeyMay(method: string, path: string, scope: ContentKeyScope): boolean {
  if (!READS.has(method.toUpperCase())) return false;
  const p = path.toLowerCase().replace(/(.)\/$/, '$1');
  if (VIEWER_READS.some((re) => re.test(p))) return true;
  const own = `/v1/content/${scope.contentGuid}`;
  if (p === own || (p.startsWith(`${own}/`) && new RegExp(`^(/${SEGMENT})+$`).test(p.slice(own.length)))) return true;
  const app = `/applications/${scope.contentId}`;
  return p === app || p === `${app}/config`;
}

/** Throws Connect's 403 unless a content process's key may make this request (paths below /__api__). */
export function confineProcessKey(req: Request, scope: ContentKeyScope): void {
  if (!processKeyMay(req.method, req.path, scope)) throw AppError.forbidden(PROCESS_KEY_REFUSED);
}
