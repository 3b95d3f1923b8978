import type { Content, ContentRole, PermissionRole } from '../domain/content.ts';
import type { User } from '../domain/user.ts';

/** The grants a user holds on items, directly or through a group (PermissionRepo). */
export interface GrantSource {
  grantsFor(userId: number, contentIds: readonly number[]): Promise<Map<number, PermissionRole[]>>;
}

/** Which content a listing may show: `everything` (administrators), `granted` (owned, permitted or open), or `nothing`. */
export type ListingScope = { kind: 'everything' } | { kind: 'granted'; userId: number } | { kind: 'nothing' };

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
 * The one place that decides who may view, manage and deploy content, as Connect has it; the
 * API, listings, the proxy and content files all ask it.
 * - `owner`: its owner; `editor`: administrators, and collaborators (a permission with role
 *   "owner"); they manage it (settings, bundles, deploys, variables, jobs, permissions, drafts).
 * - `viewer`: a viewer permission for the user or one of their groups, or any logged-in user
 *   when the access type is `logged_in` or `all`; anonymous callers only for `all`.
 * - `none`: everyone else, and locked users always.
 */
export class AccessPolicy {
  constructor(private readonly grants: GrantSource) {}

  /** Creates content: administrators and publishers who are not locked. */
  canPublish(user: User): boolean {
    return !user.locked && (user.role === 'administrator' || user.role === 'publisher');
  }

  /** Creates, renames, moves and deletes tags (the catalog's tree, shared by all content): administrators. */
  canEditTags(user: User): boolean {
    return !user.locked && user.role === 'administrator';
  }

  /** Sets `run_as` or `run_as_current_user`: which Unix account content runs as is an administrator's decision. */
  canSetRunAs(user: User): boolean {
    return user.role === 'administrator';
  }

  /** Gives an item to another owner (`owner_guid`): administrators, as on Connect. */
  canChangeOwner(user: User): boolean {
    return !user.locked && user.role === 'administrator';
  }

  /** May be given content: who may publish it (Connect: "The new owner must have publisher or administrator rights"). */
  mayOwn(user: User): boolean {
    return this.canPublish(user);
  }

  /**
   * Takes another item's vanity path (`force: true`): who manages that item too, administrators
   * included (Connect: "an administrator, or a collaborator/owner of both content items").
   */
  canTakeVanityFrom(user: User, from: Content): Promise<boolean> {
    return this.canManage(user, from);
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
      const grants = await this.grants.grantsFor(
        user.id,
        pending.map((c) => c.id),
      );
      for (const c of pending) out.set(c.id, grantedRole(user, c, grants.get(c.id) ?? []));
    }
    return out;
  }

  /** Whether a role lets this user change the item. A viewer account never does, not even as owner. */
  manages(user: User | undefined, role: ContentRole): boolean {
    return !!user && !user.locked && user.role !== 'viewer' && (role === 'owner' || role === 'editor');
  }

  /** Sees it in the API and opens its published version. */
  async canView(user: User | undefined, c: Content): Promise<boolean> {
    return (await this.role(user, c)) !== 'none';
  }

  /** Changes it: settings, variables, bundles, jobs, permissions, deletion. */
  async canManage(user: User | undefined, c: Content): Promise<boolean> {
    return this.manages(user, await this.role(user, c));
  }

  /** Uploads bundles and deploys them: the people who manage it. */
  canDeploy(user: User | undefined, c: Content): Promise<boolean> {
    return this.canManage(user, c);
  }

  /** Opens drafts (`/_bundle{id}/`): the people who deploy them. */
  canPreview(user: User | undefined, c: Content): Promise<boolean> {
    return this.canDeploy(user, c);
  }

  /**
   * Is told why its app failed (the start's error, the process's job key and log): its owner
   * and administrators, since output can hold paths and secrets.
   */
  seesFailureDetails(user: User | undefined, c: Content): boolean {
    return !!user && (user.role === 'administrator' || user.id === c.ownerId);
  }

  /** Reads a deploy task: the user who started it and administrators (else whoever manages its content). */
  readsTaskOf(user: User, starterId: number | null): boolean {
    return starterId === user.id || user.role === 'administrator';
  }

  /** What a content listing may show this user (the query filters by it in SQL). */
  listingScope(user: User): ListingScope {
    if (user.locked) return { kind: 'nothing' };
    return user.role === 'administrator' ? { kind: 'everything' } : { kind: 'granted', userId: user.id };
  }
}
