import type { Content } from '../domain/content.ts';
import type { ContentEvents } from '../domain/deploy.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { isGuid } from '../domain/ids.ts';
import type { Actor, User } from '../domain/user.ts';
import type { ContentChanges } from '../repositories/content-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { AccessPolicy } from './access-policy.ts';
import type { AuditLog } from './audit-log.ts';

// A lock message is Markdown for a page, not a document.
const MAX_LOCKED_MESSAGE = 16_384;

/** What PATCH /v1/content/{guid} may ask of an item's ownership and lock. */
export interface LifecycleRequest {
  ownerGuid?: string | null;
  locked?: boolean | null;
  lockedMessage?: string | null;
}

/**
 * Who owns an item and whether it is locked (Connect's `owner_guid`, `locked`,
 * `locked_message`). `plan` checks a request before anything is written and gives the
 * changes to write with the item's others; `settle` audits what changed and stops a newly
 * locked item's processes.
 */
export class ContentLifecycle {
  constructor(
    private readonly users: UserRepo,
    private readonly access: AccessPolicy,
    private readonly audit: AuditLog,
    private readonly events: ContentEvents,
  ) {}

  async plan(user: User, c: Content, req: LifecycleRequest): Promise<ContentChanges> {
    const changes: ContentChanges = {};
    // null is "leave it" for these, as for Connect's other nullable fields.
    if (req.ownerGuid !== undefined && req.ownerGuid !== null) {
      if (!this.access.canChangeOwner(user)) throw AppError.forbidden('Only administrators can change the owner of content.');
      const owner = isGuid(req.ownerGuid) ? await this.users.byGuid(req.ownerGuid) : undefined;
      if (!owner) throw AppError.notFound(`No user has the guid ${req.ownerGuid}.`);
      if (!this.access.mayOwn(owner)) {
        throw AppError.badRequest(`${owner.username} cannot own content: the owner must be a publisher or an administrator.`, ErrorCode.invalidOwner);
      }
      if (owner.id !== c.ownerId) changes.ownerId = owner.id;
    }
    if (req.lockedMessage !== undefined && req.lockedMessage !== null) {
      if (req.lockedMessage.length > MAX_LOCKED_MESSAGE) {
        throw AppError.badRequest(`A lock message may be at most ${MAX_LOCKED_MESSAGE} characters.`, ErrorCode.invalidLockedMessage);
      }
      if (req.lockedMessage !== c.lockedMessage) changes.lockedMessage = req.lockedMessage;
    }
    if (req.locked !== undefined && req.locked !== null && req.locked !== c.locked) changes.locked = req.locked;
    return changes;
  }

  /** After the write: the audit entries, and a newly locked item's processes stopped. */
  async settle(actor: Actor, before: Content, after: Content): Promise<void> {
    const target = { type: 'content', id: after.guid };
    if (before.ownerId !== after.ownerId) {
      const [from, to] = await Promise.all([this.users.byId(before.ownerId), this.users.byId(after.ownerId)]);
      await this.audit.record(actor, 'content.owner', target, { from: from?.guid ?? null, to: to?.guid ?? null });
    }
    if (before.locked !== after.locked) {
      await this.audit.record(actor, after.locked ? 'content.lock' : 'content.unlock', target, after.locked ? { message: after.lockedMessage } : {});
      if (after.locked) this.events.contentLocked(after.guid);
    }
  }
}
