import type { AuditAction } from '../domain/audit.ts';
import type { Actor } from '../domain/user.ts';
import type { AuditFilter, AuditRepo } from '../repositories/audit-repo.ts';

export interface AuditTarget {
  type: string;
  id: string;
}

/** Records every change of a user, a key or a login. */
export class AuditLog {
  constructor(private readonly repo: AuditRepo) {}

  record(actor: Actor, action: AuditAction, target?: AuditTarget, details: Record<string, unknown> = {}): Promise<void> {
    return this.repo.insert({
      actorUserId: actor.userId,
      action,
      targetType: target?.type,
      targetId: target?.id,
      ip: actor.ip,
      details: { via: actor.via, ...details },
    });
  }

  recent(limit = 100, action?: AuditAction) {
    return this.repo.recent(limit, action);
  }

  /** The audit page's query: newest first, filtered, keyset-paged (AuditRepo.page). */
  page(filter: AuditFilter) {
    return this.repo.page(filter);
  }
}
