import { AppError, ErrorCode } from './errors.ts';

/**
 * A tag of the catalog (connect-api-next.md §1.1). Tags form a tree; a top-level tag
 * (`parentId` null) is a category, which organises tags but is never put on content itself.
 */
export interface Tag {
  id: number;
  name: string;
  parentId: number | null;
  createdTime: Date;
  updatedTime: Date;
}

/** Where a tag sits in the tree: all the rules below need. */
export type TagLink = Pick<Tag, 'id' | 'parentId'>;

const TAG_NAME_MAX = 255;

/**
 * Refuses a name Connect refuses: empty (78) or longer than 255 characters (77). Counted in
 * code points, as PostgreSQL counts its varchar(255). A NUL is refused too: PostgreSQL cannot
 * store one in text, and it would be a 500 there and a stored name on SQLite.
 */
export function checkTagName(name: string): void {
  if (name.trim() === '') throw AppError.badRequest('A tag name cannot be empty.', ErrorCode.tagNameEmpty);
  if ([...name].length > TAG_NAME_MAX) throw AppError.badRequest(`A tag name may be at most ${TAG_NAME_MAX} characters.`, ErrorCode.tagNameTooLong);
  if (name.includes('\u0000')) throw AppError.badRequest('A tag name cannot contain a NUL character.');
}

function parentsOf(links: readonly TagLink[]): Map<number, number | null> {
  return new Map(links.map((l) => [l.id, l.parentId]));
}

/**
 * What putting tag `id` on content puts there: the tag and its ancestors below the category
 * (Connect: "all tags above it are also added"; the category is "not a tag"). Undefined when
 * the tag does not exist; empty when it is a category, which cannot be put on content.
 */
export function tagsToAttach(links: readonly TagLink[], id: number): number[] | undefined {
  const parents = parentsOf(links);
  if (!parents.has(id)) return undefined;
  const out: number[] = [];
  // `seen` guards against a cycle the database should never hold.
  const seen = new Set<number>();
  for (let at: number | null | undefined = id; at !== null && at !== undefined && !seen.has(at); at = parents.get(at)) {
    seen.add(at);
    // The top of the chain is the category: it stays off.
    if (parents.get(at) === null) break;
    out.push(at);
  }
  return out;
}

/** The tag and every tag below it: what removing it from content, or deleting it, takes away. */
export function subtreeOf(links: readonly TagLink[], id: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const l of links) {
    if (l.parentId === null) continue;
    const list = children.get(l.parentId);
    if (list) list.push(l.id);
    else children.set(l.parentId, [l.id]);
  }
  const out = new Set<number>([id]);
  const queue = [id];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const c of children.get(next) ?? []) {
      if (out.has(c)) continue;
      out.add(c);
      queue.push(c);
    }
  }
  return out;
}
