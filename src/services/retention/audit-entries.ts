import { daysBefore, type PrunePart } from '../../domain/retention.ts';
import type { Actor } from '../../domain/user.ts';
import type { AuditRepo } from '../../repositories/audit-repo.ts';
import type { AuditLog } from '../audit-log.ts';

const SYSTEM: Actor = { userId: null, via: 'system' };

/**
 * Audit entries older than `days` (off by default, as Connect keeps its audit log). A prune
 * that removed any says so in the audit log itself, so a gap in it is never unexplained.
 */
export function auditRetention(repo: Pick<AuditRepo, 'pruneBefore'>, audit: Pick<AuditLog, 'record'>, days: number): PrunePart {
  return {
    name: 'audit',
    off: days === 0 ? 'retention.auditDays is 0' : undefined,
    async prune(now) {
      const before = daysBefore(now, days);
      const removed = await repo.pruneBefore(before);
      if (removed > 0) await audit.record(SYSTEM, 'audit.prune', undefined, { removed, before: before.toISOString(), days });
      return { rows: removed, files: 0, bytes: 0 };
    },
  };
}
