import type { Content, PermissionRole } from '../../domain/content.ts';
import { isEmailAddress } from '../../domain/mail.ts';
import type { Variant } from '../../domain/reports.ts';
import type { User } from '../../domain/user.ts';
import type { GroupRepo } from '../../repositories/group-repo.ts';
import type { PermissionRepo } from '../../repositories/permission-repo.ts';
import type { SubscriberRepo } from '../../repositories/subscriber-repo.ts';
import type { UserRepo } from '../../repositories/user-repo.ts';
import type { AccessPolicy } from '../access-policy.ts';

export type Audience = 'me' | 'collaborators' | 'collaborators_viewers';

const PAGE = 500;

/**
 * Who a report's email goes to. Every candidate is checked at sending time: an account that is
 * locked, has no address, or may not see the report (or a private variant of it) gets nothing,
 * whatever list named them.
 */
export class ReportRecipients {
  constructor(
    private readonly permissions: PermissionRepo,
    private readonly groups: GroupRepo,
    private readonly users: UserRepo,
    private readonly subscribers: SubscriberRepo,
    private readonly access: AccessPolicy,
  ) {}

  /** After a scheduled render: the variant's chosen groups, plus subscribers, minus who opted out. */
  async scheduled(c: Content, v: Variant, documentAddresses: readonly string[] = []): Promise<User[]> {
    const ids = new Set<number>();
    if (v.emailCollaborators) for (const id of await this.withRole(c, 'owner')) ids.add(id);
    if (v.emailViewers) for (const id of await this.withRole(c, 'viewer')) ids.add(id);
    if (v.emailAll) for (const id of await this.everyone()) ids.add(id);
    const choices = await this.subscribers.choices(v.id);
    for (const [id, subscribed] of choices) {
      if (subscribed) ids.add(id);
    }
    for (const [id, subscribed] of choices) {
      if (!subscribed) ids.delete(id);
    }
    const chosen = await this.allowed(c, v, ids);
    if (!documentAddresses.length) return chosen;
    // A Quarto v2 email names its own recipients: only the accounts among them who may see it.
    const wanted = new Set(documentAddresses.map((a) => a.toLowerCase()));
    const everyoneAllowed = await this.allowed(c, v, new Set(await this.everyone()));
    return everyoneAllowed.filter((u) => wanted.has(u.email.toLowerCase()) && choices.get(u.id) !== false);
  }

  /** The owner and collaborators (failure notices; the sender's `collaborators`). */
  async collaborators(c: Content, v: Variant | null): Promise<User[]> {
    return this.allowed(c, v, new Set(await this.withRole(c, 'owner')));
  }

  /**
   * Failure notices, which carry the log's tail: the collaborators who may read the item's logs
   * (a viewer account left on the list, say after a demotion, does not).
   */
  async logReaders(c: Content, v: Variant): Promise<User[]> {
    const out: User[] = [];
    for (const u of await this.collaborators(c, v)) if (await this.access.canManage(u, c)) out.push(u);
    return out;
  }

  /** `POST /variants/{id}/sender`'s audiences (connect-api-next.md §4.4). */
  async audience(c: Content, v: Variant, caller: User, who: Audience): Promise<User[]> {
    if (who === 'me') return this.allowed(c, v, new Set([caller.id]));
    const ids = new Set(await this.withRole(c, 'owner'));
    if (who === 'collaborators_viewers') for (const id of await this.withRole(c, 'viewer')) ids.add(id);
    return this.allowed(c, v, ids);
  }

  // Users granted `role` directly or through a group; the owner counts as a collaborator.
  private async withRole(c: Content, role: PermissionRole): Promise<number[]> {
    const ids: number[] = role === 'owner' ? [c.ownerId] : [];
    for (const p of await this.permissions.listForContent(c.id)) {
      if (p.role !== role) continue;
      if (p.principalType === 'user') ids.push(p.principalId);
      else ids.push(...(await this.groups.memberIds(p.principalId)));
    }
    return ids;
  }

  private async everyone(): Promise<number[]> {
    const ids: number[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const { users } = await this.users.list({ locked: false, offset, limit: PAGE });
      ids.push(...users.map((u) => u.id));
      if (users.length < PAGE) return ids;
    }
  }

  private async allowed(c: Content, v: Variant | null, ids: Set<number>): Promise<User[]> {
    const out: User[] = [];
    for (const id of ids) {
      const u = await this.users.byId(id);
      if (!u || u.locked || !isEmailAddress(u.email) || !(await this.access.canView(u, c))) continue;
      if (v?.visibility === 'private' && v.ownerId !== u.id && !(await this.access.canManage(u, c))) continue;
      out.push(u);
    }
    return out;
  }
}
