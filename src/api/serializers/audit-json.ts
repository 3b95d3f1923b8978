import { CONNECT_ACTIONS, describeAuditEvent } from '../../domain/audit-events.ts';
import type { NamedAuditEntry } from '../../repositories/audit-repo.ts';
import { iso } from './iso.ts';

/** Connect's AuditLog (connect-api-next.md §8.1): ids as strings, the system as user "0" with no guid. */
export function auditLogJson(e: NamedAuditEntry) {
  const system = e.actorUserId === null;
  const who = e.actorUsername === null ? null : e.actorName ? `${e.actorName} (${e.actorUsername})` : e.actorUsername;
  return {
    id: String(e.id),
    time: iso(e.time),
    user_id: String(e.actorUserId ?? 0),
    user_guid: system ? null : e.actorGuid,
    user_description: system ? 'Lectern (system)' : (who ?? 'a deleted user'),
    action: CONNECT_ACTIONS[e.action] ?? e.action,
    event_description: describeAuditEvent(e),
  };
}
