import type { Knex } from 'knex';
import { toDate } from '../db/values.ts';
import { subtreeOf, tagsToAttach, type Tag, type TagLink } from '../domain/tags.ts';

type Row = Record<string, unknown>;

const toTag = (r: Row): Tag => ({
  id: Number(r.id),
  name: String(r.name),
  parentId: r.parent_id === null || r.parent_id === undefined ? null : Number(r.parent_id),
  createdTime: toDate(r.created_time),
  updatedTime: toDate(r.updated_time),
});

/** Why a change of the tree was not made. */
export type TagProblem = 'no-parent' | 'name-taken' | 'inside-itself';

export interface TagFilter {
  name?: string | undefined;
  /** null: the categories. */
  parentId?: number | null | undefined;
}

/**
 * Serializes the tree's writers across every Lectern node. On PostgreSQL a write of the tree
 * (create, rename, move) takes SHARE ROW EXCLUSIVE, which excludes itself: a name checked
 * unique among its siblings stays so until the insert. Putting tags on content takes SHARE,
 * which shares with itself but waits for a move, so the ancestors it adds are current. SQLite
 * has one connection, which the transaction holds.
 */
async function lockTree(trx: Knex.Transaction, mode: 'share' | 'share row exclusive') {
  if (trx.client.dialect === 'postgresql') await trx.raw(`lock table tags in ${mode} mode`);
}

async function linksIn(trx: Knex.Transaction): Promise<TagLink[]> {
  const rows = (await trx('tags').select('id', 'parent_id')) as Row[];
  return rows.map((r) => ({ id: Number(r.id), parentId: r.parent_id === null ? null : Number(r.parent_id) }));
}

/** Whether another tag under `parentId` already has `name`. */
async function siblingNamed(trx: Knex.Transaction, parentId: number | null, name: string, except?: number): Promise<boolean> {
  const q = trx('tags').where('name', name);
  if (parentId === null) q.whereNull('parent_id');
  else q.where('parent_id', parentId);
  if (except !== undefined) q.whereNot('id', except);
  return !!(await q.first('id'));
}

/** `tags` and `content_tags`: the tree of categories and tags, and which are on which content. */
export class TagRepo {
  constructor(private readonly knex: Knex) {}

  /** In creation order (parents before their children), as clients compare lists. */
  async list(f: TagFilter = {}): Promise<Tag[]> {
    const q = this.knex('tags').orderBy('id');
    if (f.name !== undefined) q.where('name', f.name);
    if (f.parentId === null) q.whereNull('parent_id');
    else if (f.parentId !== undefined) q.where('parent_id', f.parentId);
    return ((await q) as Row[]).map(toTag);
  }

  /**
   * Tags a `tag:` value names: a path from its category (`Finance/Q3`) names one tag; a bare
   * name (`Q3`) every tag of that name. Items carry their tags' ancestors, so a tag matches the
   * items tagged with anything under it too.
   */
  async idsByPath(value: string): Promise<number[]> {
    const parts = value
      .split('/')
      .map((p) => p.trim())
      .filter(Boolean);
    if (!parts.length) return [];
    if (parts.length === 1)
      return ((await this.knex('tags').whereRaw('lower(name) = ?', [parts[0]!.toLowerCase()]).select('id')) as Row[]).map((r) => Number(r.id));
    let ids: number[] = ((await this.knex('tags').whereNull('parent_id').whereRaw('lower(name) = ?', [parts[0]!.toLowerCase()]).select('id')) as Row[]).map(
      (r) => Number(r.id),
    );
    for (const name of parts.slice(1)) {
      if (!ids.length) return [];
      ids = ((await this.knex('tags').whereIn('parent_id', ids).whereRaw('lower(name) = ?', [name.toLowerCase()]).select('id')) as Row[]).map((r) =>
        Number(r.id),
      );
    }
    return ids;
  }

  async byId(id: number): Promise<Tag | undefined> {
    const row = (await this.knex('tags').where({ id }).first()) as Row | undefined;
    return row && toTag(row);
  }

  async create(name: string, parentId: number | null): Promise<Tag | TagProblem> {
    return this.knex.transaction(async (trx) => {
      await lockTree(trx, 'share row exclusive');
      if (parentId !== null && !(await trx('tags').where({ id: parentId }).first('id'))) return 'no-parent';
      if (await siblingNamed(trx, parentId, name)) return 'name-taken';
      const now = new Date();
      const [row] = (await trx('tags').insert({ name, parent_id: parentId, created_time: now, updated_time: now }).returning('*')) as Row[];
      return toTag(row!);
    });
  }

  /** Renames and/or moves a tag. Undefined: the tag is gone. */
  async update(id: number, changes: { name?: string | undefined; parentId?: number | null | undefined }): Promise<Tag | TagProblem | undefined> {
    return this.knex.transaction(async (trx) => {
      await lockTree(trx, 'share row exclusive');
      const row = (await trx('tags').where({ id }).first()) as Row | undefined;
      if (!row) return undefined;
      const current = toTag(row);
      const name = changes.name ?? current.name;
      const parentId = changes.parentId === undefined ? current.parentId : changes.parentId;
      if (parentId !== null) {
        const links = await linksIn(trx);
        if (!links.some((l) => l.id === parentId)) return 'no-parent';
        // Under itself or a descendant: the subtree would hang from nothing.
        if (subtreeOf(links, id).has(parentId)) return 'inside-itself';
      }
      if (await siblingNamed(trx, parentId, name, id)) return 'name-taken';
      await trx('tags').where({ id }).update({ name, parent_id: parentId, updated_time: new Date() });
      return toTag((await trx('tags').where({ id }).first()) as Row);
    });
  }

  /** Deletes the tag; its subtree and every content_tags row of them go by the foreign keys' cascade. */
  async delete(id: number): Promise<boolean> {
    return (await this.knex('tags').where({ id }).delete()) > 0;
  }

  /** The content's tags, in creation order. */
  async ofContent(contentId: number): Promise<Tag[]> {
    return (await this.ofContents([contentId])).get(contentId) ?? [];
  }

  /** Each item's tags (items without any are absent), in one query. */
  async ofContents(contentIds: readonly number[]): Promise<Map<number, Tag[]>> {
    const out = new Map<number, Tag[]>();
    if (contentIds.length === 0) return out;
    const rows = (await this.knex('content_tags as ct')
      .join('tags as t', 't.id', 'ct.tag_id')
      .whereIn('ct.content_id', [...new Set(contentIds)])
      .select('ct.content_id', 't.*')
      .orderBy('t.id')) as Row[];
    for (const r of rows) {
      const contentId = Number(r.content_id);
      const list = out.get(contentId);
      if (list) list.push(toTag(r));
      else out.set(contentId, [toTag(r)]);
    }
    return out;
  }

  /**
   * Puts the tag and its ancestors below the category on the content (`tagsToAttach`).
   * Undefined: no such tag; an empty list: it is a category, and nothing was put on.
   */
  async attach(contentId: number, tagId: number): Promise<number[] | undefined> {
    return this.knex.transaction(async (trx) => {
      await lockTree(trx, 'share');
      const ids = tagsToAttach(await linksIn(trx), tagId);
      if (ids && ids.length > 0) {
        await trx('content_tags')
          .insert(ids.map((tag_id) => ({ content_id: contentId, tag_id })))
          .onConflict(['content_id', 'tag_id'])
          .ignore();
      }
      return ids;
    });
  }

  /** Takes the tag and everything below it off the content; the ids taken off. */
  async detach(contentId: number, tagId: number): Promise<number[]> {
    return this.knex.transaction(async (trx) => {
      await lockTree(trx, 'share');
      const subtree = [...subtreeOf(await linksIn(trx), tagId)];
      const on = (await trx('content_tags').where('content_id', contentId).whereIn('tag_id', subtree).pluck('tag_id')) as unknown[];
      if (on.length > 0) await trx('content_tags').where('content_id', contentId).whereIn('tag_id', subtree).delete();
      return on.map(Number);
    });
  }
}
