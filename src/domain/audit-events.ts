import type { AuditAction, AuditEntry } from './audit.ts';

/**
 * Each action under the name `GET /v1/audit_logs` gives it: Connect's where its audited-events
 * documentation names one (add_user, edit_user, lock_user, add_group, remove_group, …), and
 * the same `verb_noun` style for what Connect does not audit or names differently.
 */
export const CONNECT_ACTIONS: Record<AuditAction, string> = {
  'user.create': 'add_user',
  'user.update': 'edit_user',
  'user.lock': 'lock_user',
  'user.unlock': 'unlock_user',
  'user.password': 'change_password',
  'user.password.reset': 'reset_password',
  'user.link': 'link_user_identity',
  'key.create': 'add_api_key',
  'key.delete': 'remove_api_key',
  'login.success': 'user_login',
  'login.failure': 'user_login_failed',
  'login.throttled': 'user_login_throttled',
  logout: 'user_logout',
  'permission.create': 'add_content_permission',
  'permission.update': 'edit_content_permission',
  'permission.delete': 'remove_content_permission',
  'group.create': 'add_group',
  'group.delete': 'remove_group',
  'group.member.add': 'add_group_member',
  'group.member.remove': 'remove_group_member',
  'variant.update': 'edit_variant',
  'variant.subscribe': 'add_subscriber',
  'variant.unsubscribe': 'remove_subscriber',
  'schedule.create': 'add_schedule',
  'schedule.update': 'edit_schedule',
  'schedule.delete': 'remove_schedule',
  'report.render': 'render_report',
  'email.settings': 'edit_email_settings',
  'email.send': 'send_email',
  'tag.create': 'add_tag',
  'tag.update': 'edit_tag',
  'tag.delete': 'remove_tag',
  'content.tag.add': 'add_content_tag',
  'content.tag.remove': 'remove_content_tag',
  'thumbnail.update': 'edit_content_thumbnail',
  'thumbnail.delete': 'remove_content_thumbnail',
  'content.variables': 'edit_content_environment',
  'content.owner': 'edit_content_owner',
  'content.lock': 'lock_content',
  'content.unlock': 'unlock_content',
  'content.create': 'add_application',
  'content.update': 'update_application',
  'content.delete': 'remove_application',
  'content.deploy': 'deploy_application',
  'bundle.delete': 'remove_bundle',
  'vanity.set': 'add_vanity_url',
  'vanity.remove': 'remove_vanity_url',
  'content.repository.set': 'add_git_repository',
  'content.repository.update': 'edit_git_repository',
  'content.repository.remove': 'remove_git_repository',
  'content.repository.secret': 'rotate_git_webhook_secret',
  'content.repository.webhook_refused': 'refuse_git_webhook',
  'runtime_cache.delete': 'remove_runtime_cache',
  'audit.prune': 'prune_audit_log',
};

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** What an entry is about, in words: a name it recorded, else its target's type and id. */
function subject(e: AuditEntry, ...keys: string[]): string {
  for (const k of keys) {
    const v = text(e.details[k]);
    if (v) return v;
  }
  return e.targetId ?? 'unknown';
}

/** " with <provider>" for a login through an identity provider, nothing for Lectern's own. */
const via = (d: Record<string, unknown>): string => {
  const p = text(d.provider);
  return p && p !== 'local' ? ` with ${p}` : '';
};

/** One line saying what happened, as Connect's `event_description` ("Added group Publishers"). */
export function describeAuditEvent(e: AuditEntry): string {
  const on = `content ${e.targetId ?? 'unknown'}`;
  const d = e.details;
  switch (e.action) {
    case 'user.create':
      return `Added user ${subject(e, 'username')}`;
    case 'user.update':
      return `Edited user ${subject(e, 'username')}`;
    case 'user.lock':
      return `Locked user ${subject(e, 'username')}`;
    case 'user.unlock':
      return `Unlocked user ${subject(e, 'username')}`;
    case 'user.password':
      return `Changed the password of user ${subject(e, 'username')}`;
    case 'user.password.reset':
      return `Reset the password of user ${subject(e, 'username')}`;
    case 'key.create':
      return `Added API key ${subject(e, 'name')}`;
    case 'key.delete':
      return `Removed API key ${subject(e, 'name')}`;
    case 'user.link':
      return `Linked user ${subject(e, 'username')} to their identity at ${text(d.provider) ?? 'an identity provider'}`;
    case 'login.success':
      return `User ${subject(e, 'username')} logged in${via(d)}`;
    case 'login.failure':
      return `A login as ${subject(e, 'username')} failed${via(d)}${text(d.reason) ? ` (${text(d.reason)})` : ''}`;
    case 'login.throttled':
      return `Logins as ${subject(e, 'username')} were throttled`;
    case 'logout':
      return `User ${subject(e, 'username')} logged out`;
    case 'permission.create':
      return `Gave ${text(d.principal_name) ?? text(d.principal_guid) ?? 'someone'} the ${text(d.role) ?? 'viewer'} role on ${on}`;
    case 'permission.update':
      return `Changed the role of ${text(d.principal_name) ?? text(d.principal_guid) ?? 'someone'} on ${on} to ${text(d.role) ?? 'viewer'}`;
    case 'permission.delete':
      return `Removed ${text(d.principal_name) ?? text(d.principal_guid) ?? 'someone'} from ${on}`;
    case 'group.create':
      return `Added group ${subject(e, 'name')}`;
    case 'group.delete':
      return `Removed group ${subject(e, 'name')}`;
    case 'group.member.add':
      return `Added ${text(d.username) ?? 'a user'} to group ${e.targetId ?? 'unknown'}`;
    case 'group.member.remove':
      return `Removed ${text(d.username) ?? 'a user'} from group ${e.targetId ?? 'unknown'}`;
    case 'variant.update':
      return `${d.created ? 'Added' : d.deleted ? 'Removed' : 'Edited'} variant ${e.targetId ?? 'unknown'} of content ${text(d.content) ?? 'unknown'}`;
    case 'variant.subscribe':
      return `Subscribed ${text(d.user) ?? 'a user'} to variant ${e.targetId ?? 'unknown'}`;
    case 'variant.unsubscribe':
      return `Unsubscribed ${text(d.user) ?? 'a user'} from variant ${e.targetId ?? 'unknown'}`;
    case 'schedule.create':
      return `Added schedule ${e.targetId ?? 'unknown'} of content ${text(d.content) ?? 'unknown'}`;
    case 'schedule.update':
      return `Edited schedule ${e.targetId ?? 'unknown'} of content ${text(d.content) ?? 'unknown'}`;
    case 'schedule.delete':
      return `Removed schedule ${e.targetId ?? 'unknown'} of content ${text(d.content) ?? 'unknown'}`;
    case 'report.render':
      return `Rendered variant ${e.targetId ?? 'unknown'} of content ${text(d.content) ?? 'unknown'}`;
    case 'email.settings':
      return d.disabled ? 'Turned outgoing email off' : 'Changed the outgoing email settings';
    case 'email.send':
      return `Email to ${text(d.recipient) ?? 'someone'}: ${text(d.status) ?? 'sent'}`;
    case 'tag.create':
      return `Added tag ${subject(e, 'name')}`;
    case 'tag.update':
      return `Edited tag ${subject(e, 'name')}`;
    case 'tag.delete':
      return `Removed tag ${subject(e, 'name')}`;
    case 'content.tag.add':
      return `Tagged ${on} ${text(d.name) ?? 'with a tag'}`;
    case 'content.tag.remove':
      return `Untagged ${on} ${text(d.name) ?? 'from a tag'}`;
    case 'thumbnail.update':
      return `Set the thumbnail of ${on}`;
    case 'thumbnail.delete':
      return `Removed the thumbnail of ${on}`;
    case 'content.variables':
      return `Changed the environment variables of ${on}`;
    case 'content.owner':
      return `Gave ${on} to user ${text(d.to) ?? 'unknown'}`;
    case 'content.lock':
      return `Locked ${on}`;
    case 'content.unlock':
      return `Unlocked ${on}`;
    case 'content.create':
      return `Added content ${subject(e, 'title', 'name')}`;
    case 'content.update':
      return `Updated ${on}${Array.isArray(d.fields) && d.fields.length ? ` (${d.fields.join(', ')})` : ''}`;
    case 'content.delete':
      return `Removed content ${subject(e, 'title', 'name')}`;
    case 'content.deploy':
      return `Deployed bundle ${text(d.bundle_id) ?? 'unknown'} of ${on}`;
    case 'bundle.delete':
      return `Removed bundle ${text(d.bundle_id) ?? 'unknown'} of ${on}${d.reason === 'retention' ? ` (retention: the newest ${text(d.kept) ?? 'few'} kept)` : ''}`;
    case 'vanity.set':
      return `Gave ${on} the vanity path ${text(d.path) ?? 'unknown'}`;
    case 'vanity.remove':
      return `Removed the vanity path of ${on}`;
    case 'content.repository.set':
      return `Made ${on} git-backed from ${text(d.repository) ?? 'a repository'} (${text(d.branch) ?? 'its branch'})`;
    case 'content.repository.update':
      return `Changed the repository of ${on} to ${text(d.repository) ?? 'a repository'} (${text(d.branch) ?? 'its branch'})`;
    case 'content.repository.remove':
      return `Stopped deploying ${on} from ${text(d.repository) ?? 'its repository'}`;
    case 'content.repository.secret':
      return `Made a new webhook secret for ${on}`;
    case 'content.repository.webhook_refused':
      return `Refused a webhook for ${on}: ${text(d.reason) ?? 'bad signature'}`;
    case 'audit.prune':
      return `Removed ${text(d.removed) ?? 'the'} audit entries older than ${text(d.before) ?? 'the retention'} (retention)`;
    case 'runtime_cache.delete':
      return `Removed the runtime cache ${text(d.language) ?? 'unknown'} ${text(d.version) ?? ''} (${text(d.image_name) ?? 'Local'})`;
  }
}
