import { isUniqueViolation } from '../db/values.ts';
import type { Content, Permission, PermissionRole, PrincipalType } from '../domain/content.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { asId, isGuid } from '../domain/ids.ts';
import type { Actor, User } from '../domain/user.ts';
import type { GroupRepo } from '../repositories/group-repo.ts';
import type { PermissionGrant, PermissionRepo } from '../repositories/permission-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { AccessPolicy } from './access-policy.ts';
import type { AuditLog } from './audit-log.ts';

export interface PermissionInput {
  principalGuid: string;
  principalType: PrincipalType;
  role: PermissionRole;
}

/** The permissions API: listing, granting, changing and revoking grants, all audited; who may is the AccessPolicy's. */
export class ContentPermissions {
  constructor(
    private readonly permissions: PermissionRepo,
    private readonly users: UserRepo,
    private readonly groups: GroupRepo,
    private readonly audit: AuditLog,
    private readonly policy: AccessPolicy,
  ) {}

  private async requireManage(user: User, c: Content): Promise<void> {
    if (!(await this.policy.canManage(user, c))) throw AppError.forbidden("You don't have permission to change this content's permissions.");
  }

  async list(user: User, c: Content): Promise<Permission[]> {
    await this.requireManage(user, c);
    return this.permissions.listForContent(c.id);
  }

  /** The grants with who they name, for the settings page. */
  async listNamed(user: User, c: Content): Promise<Array<Permission & { name: string }>> {
    const out: Array<Permission & { name: string }> = [];
    for (const p of await this.list(user, c)) {
      const name = p.principalType === 'user' ? (await this.users.byId(p.principalId))?.username : (await this.groups.byId(p.principalId))?.name;
      out.push({ ...p, name: name ?? p.principalGuid });
    }
    return out;
  }

  /** A user (by username) or else a group (by name), as a grant names it; 400 when neither exists. */
  async principalNamed(name: string): Promise<{ principalGuid: string; principalType: PrincipalType }> {
    const u = await this.users.byUsername(name);
    if (u) return { principalGuid: u.guid, principalType: 'user' };
    const g = await this.groups.byName(name);
    if (g) return { principalGuid: g.guid, principalType: 'group' };
    throw AppError.badRequest(`No user or group is named "${name}".`);
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
