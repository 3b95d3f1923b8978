/** Every action the audit log records (the audit page's filter offers these). */
export const AUDIT_ACTIONS = [
  'user.create',
  'user.update',
  'user.lock',
  'user.unlock',
  'user.password',
  'user.password.reset',
  'user.link',
  'key.create',
  'key.delete',
  'login.success',
  'login.failure',
  'login.throttled',
  'logout',
  'permission.create',
  'permission.update',
  'permission.delete',
  'group.create',
  'group.delete',
  'group.member.add',
  'group.member.remove',
  'variant.update',
  'variant.subscribe',
  'variant.unsubscribe',
  'schedule.create',
  'schedule.update',
  'schedule.delete',
  'report.render',
  'email.settings',
  'email.send',
  'tag.create',
  'tag.update',
  'tag.delete',
  'content.tag.add',
  'content.tag.remove',
  'thumbnail.update',
  'thumbnail.delete',
  'content.variables',
  'content.owner',
  'content.lock',
  'content.unlock',
  'content.create',
  'content.update',
  'content.delete',
  'content.deploy',
  'bundle.delete',
  'vanity.set',
  'vanity.remove',
  'content.repository.set',
  'content.repository.update',
  'content.repository.remove',
  'content.repository.secret',
  'content.repository.webhook_refused',
  'runtime_cache.delete',
  'audit.prune',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  id: number;
  time: Date;
  actorUserId: number | null;
  action: AuditAction;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}
