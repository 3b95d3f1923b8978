import { isUniqueViolation } from '../db/values.ts';
import type { Group } from '../domain/content.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { isGuid } from '../domain/ids.ts';
import { groupNameKey } from '../domain/role-mapping.ts';
import type { Actor, User } from '../domain/user.ts';
import type { GroupQuery, GroupRepo } from '../repositories/group-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { AuditLog } from './audit-log.ts';
import { ShortCache } from './short-cache.ts';

const GROUP_NAME_MAX = 128;

function checkName(name: string) {
  if (name.trim() === '' || name !== name.trim() || name.length > GROUP_NAME_MAX || /[\u0000-\u001f\u007f]/.test(name)) {
    throw AppError.badRequest(`name: a group name is 1 to ${GROUP_NAME_MAX} characters, without control characters or leading or trailing spaces.`);
  }
}

/** A name a group may have (the API's rule; a remote group's name from an IdP too). */
export function isGroupName(name: string): boolean {
  try {
    checkName(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Groups of users that content can be shared with. Everyone logged in may read the names;
 * publishers and administrators create groups; a group's owner and administrators change it.
 */
export class GroupService {
  constructor(
    private readonly groups: GroupRepo,
    private readonly users: UserRepo,
    private readonly audit: AuditLog,
  ) {}

  list(q: GroupQuery) {
    return this.groups.list(q);
  }

  /** 404 for a malformed guid as for an unknown one: PostgreSQL would reject the former. */
  /** Group names of a user: what content is told about a viewer (on every proxied request). */
  namesOf(user: User): Promise<string[]> {
    return this.namesCache ? this.namesCache.get(String(user.id), () => this.groups.namesForUser(user.id)) : this.groups.namesForUser(user.id);
  }

  private namesCache: ShortCache<string[]> | undefined;

  /** Caches group names against the database's write count. */
  cacheWith(generation: () => number): this {
    this.namesCache = new ShortCache(generation);
    return this;
  }

  async byGuid(guid: string): Promise<Group> {
    const g = isGuid(guid) ? await this.groups.byGuid(guid) : undefined;
    if (!g) throw AppError.notFound('The requested group does not exist.');
    return g;
  }

  private requireChange(user: User, g: Group) {
    if (user.locked || (user.role !== 'administrator' && g.ownerId !== user.id)) {
      throw AppError.forbidden("Only the group's owner or an administrator can change this group.");
    }
    // A remote group is the identity provider's: a local change would be undone, or worse
    // kept against the provider, by the next login's sync. 409 with Connect's error shape.
    if (g.source !== null) {
      throw new AppError(
        409,
        ErrorCode.forbidden,
        `The group ${g.name} comes from the identity provider (${g.source}): its members are synced at each login, so change it there.`,
      );
    }
  }

  async create(actor: Actor, user: User, name: string): Promise<Group> {
    if (user.locked || (user.role !== 'administrator' && user.role !== 'publisher')) {
      throw AppError.forbidden('Only publishers and administrators can create groups.');
    }
    checkName(name);
    let made: Awaited<ReturnType<GroupRepo['createUnlessTaken']>>;
    try {
      made = await this.groups.createUnlessTaken(name, user.id, groupNameKey);
    } catch (err) {
      // The table's own unique index, should anything have written around the check.
      if (isUniqueViolation(err)) throw AppError.conflict(`A group named "${name}" already exists.`);
      throw err;
    }
    if ('taken' in made) throw AppError.conflict(`A group named "${made.taken}" already exists: group names differ by more than case.`);
    const g = made.group;
    await this.audit.record(actor, 'group.create', { type: 'group', id: g.guid }, { name: g.name });
    return g;
  }

  /** Deleting a group deletes its memberships and every permission granted to it. */
  async delete(actor: Actor, user: User, g: Group): Promise<void> {
    this.requireChange(user, g);
    await this.groups.delete(g.id);
    await this.audit.record(actor, 'group.delete', { type: 'group', id: g.guid }, { name: g.name });
  }

  /**
   * The members. User records are for publishers and administrators (as `GET /v1/users` is);
   * a viewer sees the members of groups they belong to.
   */
  async members(user: User, g: Group): Promise<User[]> {
    if (user.role === 'viewer' && !(await this.groups.isMember(g.id, user.id))) {
      throw AppError.forbidden("You don't have permission to list the members of this group.");
    }
    const ids = await this.groups.memberIds(g.id);
    return (await Promise.all(ids.map((id) => this.users.byId(id)))).filter((u): u is User => !!u);
  }

  private async member(userGuid: string): Promise<User> {
    if (!isGuid(userGuid)) throw AppError.badRequest(`user_guid: "${userGuid}" is not a user GUID.`);
    const u = await this.users.byGuid(userGuid);
    if (!u) throw AppError.notFound(`There is no user with user_guid ${userGuid}.`, ErrorCode.userNotFound);
    return u;
  }

  async addMember(actor: Actor, user: User, g: Group, userGuid: string): Promise<User> {
    this.requireChange(user, g);
    const u = await this.member(userGuid);
    if (!(await this.groups.addMember(g.id, u.id))) throw AppError.conflict(`${u.username} is already a member of ${g.name}.`);
    await this.audit.record(actor, 'group.member.add', { type: 'group', id: g.guid }, { user_guid: u.guid, username: u.username });
    return u;
  }

  /** Takes effect at once: access is decided per request from the memberships. */
  async removeMember(actor: Actor, user: User, g: Group, userGuid: string): Promise<void> {
    this.requireChange(user, g);
    const u = isGuid(userGuid) ? await this.users.byGuid(userGuid) : undefined;
    if (!u || !(await this.groups.removeMember(g.id, u.id))) throw AppError.notFound('That user is not a member of this group.');
    await this.audit.record(actor, 'group.member.remove', { type: 'group', id: g.guid }, { user_guid: u.guid, username: u.username });
  }
}
