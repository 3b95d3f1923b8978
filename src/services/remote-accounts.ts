import type { Group } from '../domain/content.ts';
import { AppError } from '../domain/errors.ts';
import { groupNameKey, mappedRole, type RoleRule } from '../domain/role-mapping.ts';
import type { RemoteIdentity } from '../domain/remote-identity.ts';
import type { Actor, User, UserRole } from '../domain/user.ts';
import type { GroupRepo } from '../repositories/group-repo.ts';
import type { IdentityRepo } from '../repositories/identity-repo.ts';
import type { AuditLog } from './audit-log.ts';
import { isGroupName } from './group-service.ts';
import type { UserService } from './user-service.ts';

/** Who an identity provider says logged in (`RemoteIdentity`, as the providers hand it over). */
export type RemoteAccount = RemoteIdentity;

export interface RemoteAccountOptions {
  /** A new user's role when the mapping gives none (`auth.defaultRole`). */
  defaultRole: UserRole;
  /** A first login may take over a local account of the same username (`auth.linkExistingUsers`). */
  linkExistingUsers: boolean;
  roleMapping: readonly RoleRule[];
}

/** Why a remote login found no user to be: audited as the login's failure reason. */
export type RemoteRefusal = 'locked' | 'username-taken' | 'invalid-username';

export type RemoteResolution = { ok: true; user: User; created: boolean } | { ok: false; reason: RemoteRefusal; user?: User | undefined };

export interface GroupSync {
  added: string[];
  removed: string[];
  /** IdP groups whose name a local group has (never taken over), or no group may have. */
  skipped: string[];
}

/** At most this many groups from one login are synced; the rest are skipped (a runaway IdP). */
const MAX_GROUPS = 1000;

/**
 * Turns an identity provider's account into a Lectern user, for every provider alike: the
 * user linked to (provider, subject), else one provisioned now (or, with `linkExistingUsers`, a
 * local account of the same username); then its profile, role and remote groups as the
 * provider says. Rule for roles: a role the provider states (a role claim or attribute), else
 * the mapping's role (the highest of the person's groups), else, where rules apply to the
 * provider, the default role, is applied at every login (and by the scheduled LDAP sync). With
 * no rule for the provider, a new user gets the default role and an existing user keeps
 * theirs (an administrator's choice stands).
 */
export class RemoteAccounts {
  constructor(
    private readonly users: UserService,
    private readonly identities: IdentityRepo,
    private readonly groups: GroupRepo,
    private readonly audit: AuditLog,
    private readonly o: RemoteAccountOptions,
  ) {}

  /** The role a person's groups give, or what a new user gets (for the LDAP test command). */
  roleFor(groups: readonly string[], provider: string): { role: UserRole; mapped: boolean } {
    const role = mappedRole(groups, this.o.roleMapping, provider);
    return role ? { role, mapped: true } : { role: this.o.defaultRole, mapped: false };
  }

  async resolve(a: RemoteAccount, actor: Actor): Promise<RemoteResolution> {
    const now = new Date();
    const found = await this.linkedUser(a, actor);
    if (!found.ok) return found;
    let { user } = found;
    const acting = { ...actor, userId: user.id };
    if (user.locked) return { ok: false, reason: 'locked', user };
    if (!found.created) user = await this.refreshProfile(user, a, acting);
    await this.syncGroups(user, a.provider, a.groups, acting);
    await this.identities.touch(a.provider, a.subject, now);
    await this.users.touchActive(user, now);
    return { ok: true, user, created: found.created };
  }

  private async linkedUser(a: RemoteAccount, actor: Actor): Promise<RemoteResolution> {
    const id = await this.identities.userIdOf(a.provider, a.subject);
    const linked = id === undefined ? undefined : await this.users.byId(id);
    if (linked) return { ok: true, user: linked, created: false };

    const same = await this.users.byUsername(a.username).catch((err: unknown) => {
      if (err instanceof AppError && err.status === 404) return undefined;
      throw err;
    });
    if (same) {
      // A local account is never taken over silently: someone who controls a directory entry
      // of that name would become its owner, with its content and keys.
      if (!this.o.linkExistingUsers) return { ok: false, reason: 'username-taken', user: same };
      // Even then, never an administrator (a directory entry of that name would own the server)
      // nor an account another provider already vouches for.
      if (same.role === 'administrator' || (await this.identities.hasAny(same.id))) return { ok: false, reason: 'username-taken', user: same };
      await this.identities.link(same.id, a.provider, a.subject);
      await this.audit.record(actor, 'user.link', { type: 'user', id: same.guid }, { username: same.username, provider: a.provider, subject: a.subject });
      return { ok: true, user: same, created: false };
    }

    let user: User;
    try {
      user = await this.users.createRemote(
        actor,
        { username: a.username, email: a.email, firstName: a.firstName, lastName: a.lastName, role: a.role ?? this.roleFor(a.groups, a.provider).role },
        a.provider,
      );
    } catch (err) {
      if (err instanceof AppError && err.status === 400) return { ok: false, reason: 'invalid-username' };
      if (err instanceof AppError && err.status === 409) return { ok: false, reason: 'username-taken' };
      throw err;
    }
    if (!(await this.identities.link(user.id, a.provider, a.subject))) {
      // Two first logins at once: the other one linked first; this account stays unused.
      const winner = await this.identities.userIdOf(a.provider, a.subject);
      const other = winner === undefined ? undefined : await this.users.byId(winner);
      if (other) return { ok: true, user: other, created: false };
    }
    return { ok: true, user, created: true };
  }

  private async refreshProfile(user: User, a: RemoteAccount, actor: Actor): Promise<User> {
    const changes: { email?: string; firstName?: string; lastName?: string; role?: UserRole } = {};
    if (a.email !== undefined && a.email !== user.email) changes.email = a.email;
    if (a.firstName !== undefined && a.firstName !== user.firstName) changes.firstName = a.firstName;
    if (a.lastName !== undefined && a.lastName !== user.lastName) changes.lastName = a.lastName;
    const role = a.role ?? this.roleOfExisting(a.groups, a.provider);
    if (role && role !== user.role) changes.role = role;
    if (Object.keys(changes).length === 0) return user;
    return this.users.update(actor, user, changes, { provider: a.provider });
  }

  /**
   * An existing user's role from their groups now. Where role rules apply to the provider, the
   * provider decides: the highest rule matched, else the default role, so someone taken out of
   * the administrators' group at the directory is no longer one here. Where none apply, the
   * role an administrator gave stands (undefined).
   */
  private roleOfExisting(groups: readonly string[], provider: string): UserRole | undefined {
    const governed = this.o.roleMapping.some((r) => r.provider === undefined || r.provider === provider);
    return mappedRole(groups, this.o.roleMapping, provider) ?? (governed ? this.o.defaultRole : undefined);
  }

  /** The scheduled LDAP sync: the role the user's groups give now (as at a login). */
  async syncRole(user: User, provider: string, groups: readonly string[], actor: Actor): Promise<void> {
    const role = this.roleOfExisting(groups, provider);
    if (role && role !== user.role) await this.users.update(actor, user, { role }, { provider });
  }

  /**
   * Makes the user's memberships synced from `provider` exactly `names`: remote groups are
   * created as needed, memberships added and removed, each audited. Memberships of local
   * groups are never touched, and a local group is never taken over by an IdP group's name.
   */
  async syncGroups(user: User, provider: string, names: readonly string[], actor: Actor): Promise<GroupSync> {
    const result: GroupSync = { added: [], removed: [], skipped: [] };
    const wanted = new Map<number, Group>();
    const seen = new Set<string>();
    for (const name of names) {
      const key = groupNameKey(name);
      if (seen.has(key)) continue;
      seen.add(key);
      if (!isGroupName(name) || wanted.size >= MAX_GROUPS) {
        result.skipped.push(name);
        continue;
      }
      const made = await this.groups.ensureRemote(name, provider, groupNameKey);
      if ('taken' in made) {
        result.skipped.push(name);
        continue;
      }
      if (made.created) await this.audit.record(actor, 'group.create', { type: 'group', id: made.group.guid }, { name: made.group.name, provider });
      wanted.set(made.group.id, made.group);
    }
    const current = new Map((await this.groups.syncedGroupsOf(user.id, provider)).map((g) => [g.id, g]));
    for (const [id, g] of wanted) {
      if (current.has(id) || !(await this.groups.addMember(id, user.id, provider))) continue;
      result.added.push(g.name);
      await this.audit.record(actor, 'group.member.add', { type: 'group', id: g.guid }, { user_guid: user.guid, username: user.username, provider });
    }
    for (const [id, g] of current) {
      if (wanted.has(id) || !(await this.groups.removeMember(id, user.id))) continue;
      result.removed.push(g.name);
      await this.audit.record(actor, 'group.member.remove', { type: 'group', id: g.guid }, { user_guid: user.guid, username: user.username, provider });
    }
    return result;
  }

  /** Every user linked to a provider (the LDAP group sync), with their subject there. */
  async linkedUsers(provider: string): Promise<Array<{ user: User; subject: string }>> {
    const out: Array<{ user: User; subject: string }> = [];
    for (const l of await this.identities.linkedTo(provider)) {
      const user = await this.users.byId(l.userId);
      if (user) out.push({ user, subject: l.subject });
    }
    return out;
  }
}
