import type { Knex } from 'knex';
import type { Content } from '../domain/content.ts';
import { toContent } from './content-repo.ts';
import { containsPattern, visibleTo } from './content-visibility.ts';

type Row = Record<string, unknown>;

export type SearchSort = 'name' | 'title' | 'updated' | 'created';

/** A parsed query with its names resolved to ids: what the SQL needs. */
export interface ContentSearchQuery {
  words: string[];
  notWords: string[];
  /** Each group: the item's owner is (or, negated, is not) one of these. */
  owners: Array<{ ids: number[]; negate: boolean }>;
  modes: Array<{ modes: readonly string[]; negate: boolean }>;
  /** Each group: the item carries (or not) one of these tags. */
  tags: Array<{ ids: number[]; negate: boolean }>;
  /** Published: it has an active bundle. */
  published?: boolean;
  /** Only what this user may see; undefined: everything (administrators). */
  visibleTo?: number;
  /** Only what this user opened lately, the latest first (then `sort` is not used). */
  viewedBy?: number;
  sort: SearchSort;
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

const TEXT = `lower(coalesce(content.name, '') || ' ' || coalesce(content.title, '') || ' ' || coalesce(content.description, ''))`;

/** The catalog's search over `content` (one query for the page, one for the count). */
export class ContentSearchRepo {
  constructor(private readonly knex: Knex) {}

  async search(q: ContentSearchQuery): Promise<{ items: Content[]; total: number }> {
    const base = this.knex('content').modify((b: Knex.QueryBuilder) => {
      for (const w of q.words) b.whereRaw(`${TEXT} like ? escape '\\'`, [containsPattern(w)]);
      for (const w of q.notWords) b.whereRaw(`${TEXT} not like ? escape '\\'`, [containsPattern(w)]);
      for (const o of q.owners) {
        if (o.negate) b.whereNotIn('content.owner_id', o.ids.length ? o.ids : [0]);
        else b.whereIn('content.owner_id', o.ids.length ? o.ids : [0]);
      }
      for (const m of q.modes) {
        if (m.negate) b.whereNotIn('content.app_mode', m.modes.length ? [...m.modes] : ['']);
        else b.whereIn('content.app_mode', m.modes.length ? [...m.modes] : ['']);
      }
      for (const t of q.tags) {
        const tagged = (s: Knex.QueryBuilder) =>
          s
            .select(this.knex.raw('1'))
            .from('content_tags as ct')
            .whereRaw('ct.content_id = content.id')
            .whereIn('ct.tag_id', t.ids.length ? t.ids : [0]);
        if (t.negate) b.whereNotExists(tagged);
        else b.whereExists(tagged);
      }
      if (q.published === true) b.whereNotNull('content.bundle_id');
      if (q.published === false) b.whereNull('content.bundle_id');
      if (q.visibleTo !== undefined) visibleTo(this.knex, b, q.visibleTo);
      if (q.viewedBy !== undefined) b.join('recent_views as rv', (j) => j.on('rv.content_id', 'content.id').andOnVal('rv.user_id', q.viewedBy!));
    });
    const total = (await base.clone().count({ n: '*' }).first()) as { n: number | string } | undefined;
    const page = base.clone().select('content.*');
    const dir = q.order;
    if (q.viewedBy !== undefined) page.orderBy('rv.viewed_time', 'desc');
    else
      switch (q.sort) {
        case 'name':
          page.orderByRaw(`lower(content.name) ${dir}`);
          break;
        case 'title':
          page.orderByRaw(`lower(coalesce(content.title, content.name)) ${dir}`);
          break;
        case 'created':
          page.orderBy('content.created_time', dir);
          break;
        case 'updated':
          // Never deployed goes last either way (booleans sort false first on both databases).
          page.orderByRaw(`(content.last_deployed_time is null), content.last_deployed_time ${dir}`);
          break;
      }
    const rows = (await page.orderBy('content.id', dir).offset(q.offset).limit(q.limit)) as Row[];
    return { items: rows.map(toContent), total: Number(total?.n ?? 0) };
  }
}
