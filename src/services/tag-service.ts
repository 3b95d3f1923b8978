import type { Content } from '../domain/content.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { asId } from '../domain/ids.ts';
import { checkTagName, type Tag } from '../domain/tags.ts';
import type { Actor, User } from '../domain/user.ts';
import type { TagProblem, TagRepo } from '../repositories/tag-repo.ts';
import type { AccessPolicy } from './access-policy.ts';
import type { AuditLog } from './audit-log.ts';
import type { ContentService } from './content-service.ts';

/** What a client sends for a tag: `parent_id` as a string (or a number), null for a category. */
export interface TagInput {
  name?: string | undefined;
  parentId?: string | number | null | undefined;
}

const NOT_FOUND = 'The requested tag does not exist.';

/** A parent named by the client: null stays null (a category); anything that cannot be a tag id is code 157. */
function parentOf(raw: string | number | null): number | null {
  if (raw === null) return null;
  const id = asId(raw);
  if (id === undefined) throw AppError.badRequest(`parent_id: there is no tag ${JSON.stringify(raw)}.`, ErrorCode.invalidParentTag);
  return id;
}

function refuse(problem: TagProblem, name: string): never {
  switch (problem) {
    case 'no-parent':
      throw AppError.badRequest('parent_id: the parent tag does not exist.', ErrorCode.invalidParentTag);
    case 'inside-itself':
      throw AppError.badRequest('parent_id: a tag cannot move under itself or one of its descendants.', ErrorCode.invalidParentTag);
    case 'name-taken':
      throw AppError.badRequest(`A tag named ${JSON.stringify(name)} already exists at this level.`, ErrorCode.tagNameTaken);
  }
}

/**
 * The catalog's tags (connect-api-next.md §1): everyone logged in reads the tree,
 * administrators change it, and whoever manages an item puts tags on it or takes them off
 * (viewers read them). The tree's rules are in src/domain/tags.ts; every change is audited.
 */
export class TagService {
  constructor(
    private readonly tags: TagRepo,
    private readonly content: ContentService,
    private readonly access: AccessPolicy,
    private readonly audit: AuditLog,
  ) {}

  /** `parentId` as the client sent it: one that cannot be a tag id matches nothing. */
  list(filter: { name?: string | undefined; parentId?: string | undefined }): Promise<Tag[]> {
    if (filter.parentId === undefined) return this.tags.list({ name: filter.name });
    const parentId = asId(filter.parentId);
    return parentId === undefined ? Promise.resolve([]) : this.tags.list({ name: filter.name, parentId });
  }

  /** The tag, or 404 (code 4): ids that are not ids are not found, on both databases. */
  async get(rawId: unknown): Promise<Tag> {
    const id = asId(rawId);
    const tag = id === undefined ? undefined : await this.tags.byId(id);
    if (!tag) throw AppError.notFound(NOT_FOUND);
    return tag;
  }

  private requireEditor(user: User) {
    if (!this.access.canEditTags(user)) throw AppError.forbidden('Only administrators can create, change or delete tags.');
  }

  async create(actor: Actor, user: User, input: TagInput): Promise<Tag> {
    this.requireEditor(user);
    const name = input.name ?? '';
    checkTagName(name);
    const made = await this.tags.create(name, parentOf(input.parentId ?? null));
    if (typeof made === 'string') refuse(made, name);
    await this.audit.record(actor, 'tag.create', { type: 'tag', id: String(made.id) }, { name: made.name, parent_id: made.parentId });
    return made;
  }

  /** Renames and/or moves the tag (`parentId` null: to the top, as a category). */
  async update(actor: Actor, user: User, rawId: unknown, input: TagInput): Promise<Tag> {
    this.requireEditor(user);
    const before = await this.get(rawId);
    if (input.name !== undefined) checkTagName(input.name);
    const changed = await this.tags.update(before.id, { name: input.name, parentId: input.parentId === undefined ? undefined : parentOf(input.parentId) });
    if (changed === undefined) throw AppError.notFound(NOT_FOUND);
    if (typeof changed === 'string') refuse(changed, input.name ?? before.name);
    await this.audit.record(
      actor,
      'tag.update',
      { type: 'tag', id: String(changed.id) },
      { name: changed.name, parent_id: changed.parentId, before: { name: before.name, parent_id: before.parentId } },
    );
    return changed;
  }

  /** Deletes the tag and its subtree, and takes them off every item. */
  async delete(actor: Actor, user: User, rawId: unknown): Promise<void> {
    this.requireEditor(user);
    const tag = await this.get(rawId);
    if (!(await this.tags.delete(tag.id))) throw AppError.notFound(NOT_FOUND);
    await this.audit.record(actor, 'tag.delete', { type: 'tag', id: String(tag.id) }, { name: tag.name, parent_id: tag.parentId });
  }

  /** The content carrying the tag that the user may see (administrators: all of it), each once. */
  async taggedContent(user: User, rawId: unknown): Promise<Content[]> {
    const tag = await this.get(rawId);
    return (await this.content.list(user, { taggedWith: tag.id, offset: 0, limit: 10_000 })).items;
  }

  /** The item's tags, for whoever may see the item. */
  async ofContent(user: User, guid: string): Promise<Tag[]> {
    return this.tags.ofContent((await this.content.visible(user, guid)).id);
  }

  /** Each item's tags, for a listing of items already checked as visible. Items without tags are absent. */
  ofContents(items: readonly Content[]): Promise<Map<number, Tag[]>> {
    return this.tags.ofContents(items.map((c) => c.id));
  }

  /**
   * Puts the tag on the item, with its ancestors below the category. `tag_id` names a tag in
   * the body, so one that does not exist is a bad request (code 158); a category is code 79.
   */
  async attach(actor: Actor, user: User, guid: string, rawTagId: unknown): Promise<Tag> {
    const c = await this.content.manageable(user, guid);
    const id = asId(rawTagId);
    const added = id === undefined ? undefined : await this.tags.attach(c.id, id);
    if (added === undefined) throw AppError.badRequest(`tag_id: there is no tag ${JSON.stringify(rawTagId)}.`, ErrorCode.invalidTag);
    if (added.length === 0) throw AppError.badRequest('A tag category cannot be added to content: add one of its tags.', ErrorCode.categoryNotAssignable);
    const tag = await this.get(id);
    await this.audit.record(actor, 'content.tag.add', { type: 'content', id: c.guid }, { tag_id: tag.id, name: tag.name, added });
    return tag;
  }

  /**
   * Takes the tag and its descendants off the item. A tag that is not on it (a category, say)
   * is not an error: its descendants still come off, as clients clean up by removing the root.
   */
  async detach(actor: Actor, user: User, guid: string, rawTagId: unknown): Promise<void> {
    const c = await this.content.manageable(user, guid);
    const tag = await this.get(rawTagId);
    const removed = await this.tags.detach(c.id, tag.id);
    if (removed.length > 0) await this.audit.record(actor, 'content.tag.remove', { type: 'content', id: c.guid }, { tag_id: tag.id, name: tag.name, removed });
  }
}
