import { isKnownAppMode } from '../domain/app-modes.ts';
import { appModesOfType, parseSearch } from '../domain/content-search.ts';
import type { Content } from '../domain/content.ts';
import type { User } from '../domain/user.ts';
import type { ContentSearchQuery, ContentSearchRepo, SearchSort } from '../repositories/content-search-repo.ts';
import type { RecentViewRepo } from '../repositories/recent-view-repo.ts';
import type { TagRepo } from '../repositories/tag-repo.ts';
import type { ThumbnailRepo } from '../repositories/thumbnail-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { AccessPolicy } from './access-policy.ts';
import type { ContentService, ContentWithOwner } from './content-service.ts';

export const SEARCH_SORTS: readonly SearchSort[] = ['updated', 'name', 'title', 'created'];
export const MAX_PAGE_SIZE = 500;

export interface SearchRequest {
  q: string;
  sort: SearchSort;
  order: 'asc' | 'desc';
  /** 1-based. */
  page: number;
  pageSize: number;
  /** Only what the user opened lately, the latest first. */
  recentlyViewed?: boolean;
}

export interface TagNode {
  id: number;
  name: string;
  /** From the category down, `/`-separated: what `tag:` takes. */
  path: string;
  children: TagNode[];
}

export interface SearchResult {
  items: Array<ContentWithOwner & { hasThumbnail: boolean }>;
  total: number;
  page: number;
  pageSize: number;
  warnings: string[];
}

/**
 * One search for the browser catalog and `GET /v1/search/content`: the query language of
 * src/domain/content-search.ts, with names resolved (owners by username or `@me`, tags by path
 * or name, types by name), over what the caller may see.
 */
export class ContentSearchService {
  constructor(
    private readonly repo: ContentSearchRepo,
    private readonly users: UserRepo,
    private readonly content: ContentService,
    private readonly access: AccessPolicy,
    private readonly thumbnails: ThumbnailRepo,
    private readonly tags: TagRepo,
    private readonly recent: RecentViewRepo,
  ) {}

  async search(user: User, r: SearchRequest): Promise<SearchResult> {
    const parsed = parseSearch(r.q);
    const warnings = [...parsed.warnings];
    const page = Math.max(1, r.page);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, r.pageSize));
    const scope = this.access.listingScope(user);
    if (scope.kind === 'nothing') return { items: [], total: 0, page, pageSize, warnings };
    const q: ContentSearchQuery = {
      words: parsed.words,
      notWords: parsed.notWords,
      owners: [],
      modes: [],
      tags: [],
      visibleTo: scope.kind === 'granted' ? scope.userId : undefined,
      viewedBy: r.recentlyViewed ? user.id : undefined,
      sort: r.sort,
      order: r.order,
      offset: (page - 1) * pageSize,
      limit: pageSize,
    };
    for (const f of parsed.filters) {
      if (f.key === 'published') q.published = f.values[0] === 'true';
      else if (f.key === 'owner') q.owners.push({ ids: await this.ownerIds(user, f.values, warnings), negate: f.negate });
      else if (f.key === 'type') {
        // An unknown type is a typo, warned about and ignored (Connect's rule); an unknown
        // owner or tag is a real name that owns or tags nothing, so it matches nothing.
        const modes = this.modes(f.values, warnings);
        if (modes.length) q.modes.push({ modes, negate: f.negate });
      } else q.tags.push({ ids: await this.tagIds(f.values, warnings), negate: f.negate });
    }
    const { items, total } = await this.repo.search(q);
    const pictured = await this.thumbnails.which(items.map((c) => c.id));
    const described = (await this.content.withOwners(user, items)).map((it) => ({ ...it, hasThumbnail: pictured.has(it.content.id) }));
    return { items: described, total, page, pageSize, warnings };
  }

  /** Notes that the user opened the item's page, for their "Recently viewed". */
  recordView(user: User, c: Content): Promise<void> {
    return this.recent.record(user.id, c.id, new Date());
  }

  /** The tag tree as nested nodes, each with its path (`Finance/Q3`) for a `tag:` filter. */
  async tagTree(): Promise<TagNode[]> {
    const byId = new Map<number, TagNode>();
    const roots: TagNode[] = [];
    for (const t of await this.tags.list()) {
      const parent = t.parentId === null ? undefined : byId.get(t.parentId);
      const node: TagNode = { id: t.id, name: t.name, path: parent ? `${parent.path}/${t.name}` : t.name, children: [] };
      byId.set(t.id, node);
      (parent ? parent.children : roots).push(node);
    }
    return roots;
  }

  private async ownerIds(user: User, names: string[], warnings: string[]): Promise<number[]> {
    const ids: number[] = [];
    for (const n of names) {
      if (n.toLowerCase() === '@me') {
        ids.push(user.id);
        continue;
      }
      const u = await this.users.byUsername(n);
      if (u) ids.push(u.id);
      else warnings.push(`No user is named '${n}'.`);
    }
    return ids;
  }

  private modes(names: string[], warnings: string[]): string[] {
    const out: string[] = [];
    for (const n of names) {
      const modes = appModesOfType(n, isKnownAppMode);
      if (modes) out.push(...modes);
      else warnings.push(`Invalid value for 'type' filter: '${n}'.`);
    }
    return out;
  }

  private async tagIds(values: string[], warnings: string[]): Promise<number[]> {
    const out: number[] = [];
    for (const v of values) {
      const ids = await this.tags.idsByPath(v);
      if (!ids.length) warnings.push(`No tag is named '${v}'.`);
      out.push(...ids);
    }
    return out;
  }
}
