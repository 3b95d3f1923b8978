import type { Actor } from '../domain/user.ts';
import type { AuditLog } from './audit-log.ts';
import { isUniqueViolation } from '../db/values.ts';
import type { Content } from '../domain/content.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import type { User } from '../domain/user.ts';
import type { ContentRepo } from '../repositories/content-repo.ts';
import type { Vanity, VanityRepo } from '../repositories/vanity-repo.ts';
import type { AccessPolicy } from './access-policy.ts';

// Lectern's own addresses: a vanity path may not shadow them.
const RESERVED_FIRST_SEGMENTS = new Set(['content', 'login', 'logout', 'password', 'keys', 'connect']);
const SEGMENT = /^[A-Za-z0-9_-]+$/;
// Other nodes may change vanities too: a lookup is never older than this.
const CACHE_MS = 5000;

/** `/sales/q3` → `/sales/q3/`; throws a 400 naming the rule a bad path breaks. */
function normalizeVanityPath(raw: string): string {
  const segments = raw
    .trim()
    .split('/')
    .filter((s) => s !== '');
  if (segments.length === 0) throw AppError.badRequest('A vanity path needs at least one segment, such as /sales/.');
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) throw AppError.badRequest(`Vanity path segment "${bad}" may hold only letters, digits, "-" and "_".`);
  const first = segments[0]!;
  if (first.startsWith('__') || RESERVED_FIRST_SEGMENTS.has(first.toLowerCase())) {
    throw AppError.badRequest(`Vanity paths may not start with /${first}/: Lectern uses it.`);
  }
  const path = `/${segments.join('/')}/`;
  if (path.length > 1024) throw AppError.badRequest('A vanity path may be at most 1024 characters.');
  return path;
}

/** Vanity paths: one per content item, none inside another. */
export class VanityService {
  private cache: { at: number; list: Vanity[] } | undefined;

  constructor(
    private readonly repo: VanityRepo,
    private readonly content: ContentRepo,
    private readonly access: AccessPolicy,
    private readonly audit: AuditLog,
  ) {}

  private async list(): Promise<Vanity[]> {
    if (!this.cache || Date.now() - this.cache.at > CACHE_MS) this.cache = { at: Date.now(), list: await this.repo.all() };
    return this.cache.list;
  }

  all(): Promise<Vanity[]> {
    return this.repo.all();
  }

  forContent(c: Content): Promise<Vanity | undefined> {
    return this.repo.forContent(c.id);
  }

  /**
   * Gives the item the path. A path another item holds is Connect's 409 VanityPathInUse (51),
   * unless `force` and the user manages that item too (AccessPolicy.canTakeVanityFrom): then it
   * moves here in one transaction. A path nesting with another is refused, force or not.
   */
  async set(actor: Actor, user: User, c: Content, raw: string, force = false): Promise<Vanity> {
    const path = normalizeVanityPath(raw);
    const clash = (await this.repo.all()).find((v) => v.contentId !== c.id && (v.path.startsWith(path) || path.startsWith(v.path)));
    if (clash && clash.path !== path) {
      throw AppError.conflict(`The vanity path ${path} would nest with ${clash.path}: vanity paths cannot nest.`, ErrorCode.vanityPathInUse);
    }
    const taken = () =>
      AppError.conflict(
        `The vanity path ${path} is taken. An administrator, or who manages both items, may move it with "force": true.`,
        ErrorCode.vanityPathInUse,
      );
    if (clash) {
      const holder = await this.content.byId(clash.contentId);
      if (!force || (holder && !(await this.access.canTakeVanityFrom(user, holder)))) throw taken();
    }
    try {
      await this.repo.set(c.id, path, clash !== undefined);
    } catch (err) {
      if (isUniqueViolation(err)) throw taken();
      throw err;
    }
    this.cache = undefined;
    await this.audit.record(actor, 'vanity.set', { type: 'content', id: c.guid }, { path, taken_from: clash ? clash.contentId : null });
    return (await this.repo.forContent(c.id))!;
  }

  async remove(actor: Actor, c: Content): Promise<void> {
    await this.repo.remove(c.id);
    this.cache = undefined;
    await this.audit.record(actor, 'vanity.remove', { type: 'content', id: c.guid });
  }

  /** The vanity a request path falls under, if any (`/sales` too, which wants a trailing slash). */
  async match(urlPath: string): Promise<Vanity | undefined> {
    const first = urlPath.split('/')[1] ?? '';
    if (first.startsWith('__') || RESERVED_FIRST_SEGMENTS.has(first.toLowerCase())) return undefined;
    const withSlash = urlPath.endsWith('/') ? urlPath : `${urlPath}/`;
    return (await this.list()).find((v) => withSlash.startsWith(v.path));
  }
}
