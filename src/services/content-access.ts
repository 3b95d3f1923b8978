import { isUniqueViolation } from '../db/values.ts';
import type { Content, ContentRole, Permission, PermissionRole, PrincipalType } from '../domain/content.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { asId, isGuid } from '../domain/ids.ts';
import type { Actor, User } from '../domain/user.ts';
import type { GroupRepo } from '../repositories/group-repo.ts';
import type { PermissionGrant, PermissionRepo } from '../repositories/permission-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { AuditLog } from './audit-log.ts';

export interface PermissionInput {
  principalGuid: string;
  principalType: PrincipalType;
  role: PermissionRole;
}

/** The role that needs no lookup, or undefined when grants decide. */
function settledRole(user: User | undefined, c: Content): ContentRole | undefined {
  if (!user) return c.accessType === 'all' ? 'viewer' : 'none';
  if (user.locked) return 'none';
  if (c.ownerId === user.id) return 'owner';
  if (user.role === 'administrator') return 'editor';
  return undefined;
}

/**
 * From a user's grants on an item. A collaborator grant (Connect's role "owner", directly or
 * through a group) makes an editor only of publishers: a viewer account in a collaborating
 * group, or one demoted after being added, views.
 */
function grantedRole(user: User, c: Content, grants: readonly PermissionRole[]): ContentRole {
  if (grants.includes('owner') && user.role !== 'viewer') return 'editor';
  if (grants.length > 0 || c.accessType !== 'acl') return 'viewer';
  return 'none';
}

/**
 * Who may do what with a content item, as Connect has it:
 * - `owner`: its owner; `editor`: administrators, and collaborators (a permission with role
 *   "owner"); they manage it (settings, bundles, deploys, variables, jobs, permissions, drafts).
 * - `viewer`: a viewer permission for the user or one of their groups, or any logged-in user
 *   when the access type is `logged_in` or `all`; anonymous callers only for `all`.
 * - `none`: everyone else, and locked users always.
 * Also the permissions API: listing, granting, changing and revoking grants, all audited.
 */
export class ContentAccess {
  constructor(
    private readonly permissions: PermissionRepo,
    private readonly users: UserRepo,
    private readonly groups: GroupRepo,
    private readonly audit: AuditLog,
  ) {}

  /** Creates content: administrators and publishers who are not locked. */
  canPublish(user: User): boolean {
    return !user.locked && (user.role === 'administrator' || user.role === 'publisher');
  }

  async role(user: User | undefined, c: Content): Promise<ContentRole> {
    return (await this.roles(user, [c])).get(c.id) ?? 'none';
  }

  /** Roles for a whole listing, with at most one query. */
  async roles(user: User | undefined, items: readonly Content[]): Promise<Map<number, ContentRole>> {
    const out = new Map<number, ContentRole>();
    const pending: Content[] = [];
    for (const c of items) {
      const r = settledRole(user, c);
      if (r === undefined) pending.push(c);
      else out.set(c.id, r);
    }
    if (user && pending.length > 0) {
      const grants = await this.permissions.grantsFor(user.id, pending.map((c) => c.id));
      for (const c of pending) out.set(c.id, grantedRole(user, c, grants.get(c.id) ?? []));
    }
    return out;
  }

  /** Whether a role lets this user change the item. A viewer account never does, not even as owner. */
  manages(user: User | undefined, role: ContentRole): boolean {
    return !!user && !user.locked && user.role !== 'viewer' && (role === 'owner' || role === 'editor');
  }

  /** Sees it in the API and opens its published version. */
  async canSee(user: User | undefined, c: Content): Promise<boolean> {
    return (await this.role(user, c)) !== 'none';
  }

  /** Changes it: settings, uploads, deploys, variables, bundles, jobs, permissions. */
  async canManage(user: User | undefined, c: Content): Promise<boolean> {
    return this.manages(user, await this.role(user, c));
  }

  /** Opens drafts (`/_bundle{id}/`): the people who can change the content. */
  canPreview(user: User | undefined, c: Content): Promise<boolean> {
    return this.canManage(user, c);
  }

  private async requireManage(user: User, c: Content): Promise<void> {
    if (!(await this.canManage(user, c))) throw AppError.forbidden("You don't have permission to change this content's permissions.");
  }

  // --- the permissions API -------------------------------------------------------------

  async list(user: User, c: Content): Promise<Permission[]> {
    await this.requireManage(user, c);
    return this.permissions.listForContent(c.id);
  }

  async get(user: User, c: Content, rawId: unknown): Promise<Permission> {
    await this.requireManage(user, c);
    return this.find(c, rawId);
  }

  async grant(actor: Actor, user: User, c: Content, input: PermissionInput): Promise<Permission> {
    await this.requireManage(user, c);
    const grant = await this.checkGrant(c, input);
    let p: Permission;
    try {
      p = await this.permissions.create(c.id, grant);
    } catch (err) {
      if (isUniqueViolation(err)) throw this.duplicate(input);
      throw err;
    }
    await this.audit.record(actor, 'permission.create', { type: 'content', id: c.guid }, describe(p));
    return p;
  }

  async change(actor: Actor, user: User, c: Content, rawId: unknown, input: Partial<PermissionInput>): Promise<Permission> {
    await this.requireManage(user, c);
    const before = await this.find(c, rawId);
    const next: PermissionInput = {
      principalGuid: input.principalGuid ?? before.principalGuid,
      principalType: input.principalType ?? before.principalType,
      role: input.role ?? before.role,
    };
    const grant = await this.checkGrant(c, next);
    let p: Permission | undefined;
    try {
      p = await this.permissions.update(c.id, before.id, grant);
    } catch (err) {
      if (isUniqueViolation(err)) throw this.duplicate(next);
      throw err;
    }
    if (!p) throw AppError.notFound('The requested permission does not exist.');
    await this.audit.record(actor, 'permission.update', { type: 'content', id: c.guid }, { ...describe(p), before: describe(before) });
    return p;
  }

  async revoke(actor: Actor, user: User, c: Content, rawId: unknown): Promise<void> {
    await this.requireManage(user, c);
    const p = await this.find(c, rawId);
    if (!(await this.permissions.delete(c.id, p.id))) throw AppError.notFound('The requested permission does not exist.');
    await this.audit.record(actor, 'permission.delete', { type: 'content', id: c.guid }, describe(p));
  }

  private async find(c: Content, rawId: unknown): Promise<Permission> {
    const id = asId(rawId);
    const p = id === undefined ? undefined : await this.permissions.byId(c.id, id);
    if (!p) throw AppError.notFound('The requested permission does not exist.');
    return p;
  }

  private duplicate(input: PermissionInput) {
    return AppError.conflict(
      `This ${input.principalType} already has a permission on this content: change that one (PUT .../permissions/{id}) instead of adding another.`,
    );
  }

  /** The principal exists, is not the owner, and may hold the role. */
  private async checkGrant(c: Content, input: PermissionInput): Promise<PermissionGrant> {
    if (!isGuid(input.principalGuid)) throw AppError.badRequest(`principal_guid: "${input.principalGuid}" is not a ${input.principalType} GUID.`);
    if (input.principalType === 'group') {
      const g = await this.groups.byGuid(input.principalGuid);
      if (!g) throw AppError.notFound(`There is no group with principal_guid ${input.principalGuid}.`);
      return { principalType: 'group', principalId: g.id, role: input.role };
    }
    const u = await this.users.byGuid(input.principalGuid);
    if (!u) throw AppError.notFound(`There is no user with principal_guid ${input.principalGuid}.`, ErrorCode.userNotFound);
    if (u.id === c.ownerId) throw AppError.badRequest(`${u.username} owns this content already; the owner cannot also be given a permission.`);
    if (input.role === 'owner' && u.role === 'viewer') {
      throw AppError.badRequest(
        `${u.username} has the viewer user role and cannot be a collaborator (role "owner"): only publishers and administrators can. Add them with role "viewer", or have an administrator make them a publisher first.`,
      );
    }
    return { principalType: 'user', principalId: u.id, role: input.role };
  }
}

function describe(p: Permission) {
  return { permission_id: String(p.id), principal_type: p.principalType, principal_guid: p.principalGuid, role: p.role };
}
