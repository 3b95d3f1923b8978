import type { Content } from '../domain/content.ts';
import type { User } from '../domain/user.ts';

/**
 * Who may do what with a content item. The proxy issue adds collaborators, viewer lists and
 * groups; until then an `acl` item is its owner's (and administrators') alone.
 */
export const contentPolicy = {
  canPublish(user: User): boolean {
    return !user.locked && (user.role === 'administrator' || user.role === 'publisher');
  },
  canManage(user: User, c: Content): boolean {
    if (user.locked) return false;
    return user.role === 'administrator' || (user.role === 'publisher' && c.ownerId === user.id);
  },
  /** Sees the item in the API and may open its drafts. */
  canSee(user: User | undefined, c: Content): boolean {
    if (user?.locked) return false;
    if (c.accessType === 'all') return true;
    if (!user) return false;
    if (c.accessType === 'logged_in') return true;
    return user.role === 'administrator' || c.ownerId === user.id;
  },
  /** Opens drafts (`/_bundle{id}/`): the people who can change the content. */
  canPreview(user: User | undefined, c: Content): boolean {
    return !!user && contentPolicy.canManage(user, c);
  },
};
