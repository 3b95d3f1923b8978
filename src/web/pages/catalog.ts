import type { Request } from 'express';
import { quoteSearchValue, SEARCH_TYPES, typeOfMode } from '../../domain/content-search.ts';
import type { SearchSort } from '../../repositories/content-search-repo.ts';
import { SEARCH_SORTS } from '../../services/content-search-service.ts';
import { renderPage, requireLogin, type Page } from './page.ts';

const PAGE_SIZE = 24;
const SORT_LABELS: Record<SearchSort, string> = { updated: 'Last deployed', name: 'Name', title: 'Title', created: 'Created' };

const one = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 1000) : '');

/** What the catalog's form holds: the query, the facets beside it, how to show it. */
function formOf(req: Request) {
  const type = one(req.query.type);
  const sort = (SEARCH_SORTS as readonly string[]).includes(one(req.query.sort)) ? (one(req.query.sort) as SearchSort) : 'updated';
  return {
    q: one(req.query.q),
    type: SEARCH_TYPES.some((t) => t.name === type) ? type : '',
    tag: one(req.query.tag),
    mine: one(req.query.mine) === '1',
    recent: one(req.query.recent) === '1',
    sort,
    view: one(req.query.view) === 'list' ? 'list' : 'cards',
    page: Math.max(1, Math.min(100_000, Number.parseInt(one(req.query.page), 10) || 1)),
  };
}

type CatalogForm = ReturnType<typeof formOf>;

/** The query the facets add up to: the typed words, then each facet as a filter. */
function queryOf(f: CatalogForm): string {
  const parts = [f.q];
  if (f.type) parts.push(`type:${f.type}`);
  if (f.tag) parts.push(`tag:${quoteSearchValue(f.tag)}`);
  if (f.mine) parts.push('owner:@me');
  return parts.filter(Boolean).join(' ');
}

/** A catalog address with some of the form changed (links keep the other facets). */
function linkWith(f: CatalogForm, change: Partial<CatalogForm>): string {
  const next = { ...f, page: 1, ...change };
  const p = new URLSearchParams();
  if (next.q) p.set('q', next.q);
  if (next.type) p.set('type', next.type);
  if (next.tag) p.set('tag', next.tag);
  if (next.mine) p.set('mine', '1');
  if (next.recent) p.set('recent', '1');
  if (next.sort !== 'updated') p.set('sort', next.sort);
  if (next.view !== 'cards') p.set('view', next.view);
  if (next.page > 1) p.set('page', String(next.page));
  const s = p.toString();
  return s ? `/?${s}` : '/';
}

/**
 * `/` (and `/connect/`): the content catalog. Every filter is a GET form, so a search is a link
 * and the page works without JavaScript; with it, htmx swaps the results as one types
 * (the server answers an htmx request with the results fragment only).
 */
export const catalogPage: Page = (r, d) => {
  const show = async (req: Request, res: Parameters<Parameters<typeof r.get>[1]>[1]) => {
    const form = formOf(req);
    const found = await d.search.search(req.user!, {
      q: queryOf(form),
      sort: form.sort,
      order: form.sort === 'updated' || form.sort === 'created' ? 'desc' : 'asc',
      page: form.page,
      pageSize: PAGE_SIZE,
      recentlyViewed: form.recent,
    });
    const locals = {
      title: 'Content',
      form,
      found,
      pages: Math.max(1, Math.ceil(found.total / PAGE_SIZE)),
      link: (change: Partial<CatalogForm>) => linkWith(form, change),
      types: SEARCH_TYPES,
      sorts: SORT_LABELS,
      typeOf: typeOfMode,
      contentOrigin: d.origin.content(req),
      tags: await d.search.tagTree(),
    };
    if (req.get('HX-Request') === 'true' && req.get('HX-Target') === 'results') return renderPage(d, req, res, 'partials/catalog-results', locals);
    renderPage(d, req, res, 'catalog', locals);
  };
  r.get('/', requireLogin, (req, res) => show(req, res));
  // Clients print `<server>/connect/#/apps/<guid>` as the dashboard link; the fragment never
  // reaches the server, so the page's script sends `#/apps/<guid>` on to the content's page.
  r.get(['/connect', '/connect/'], requireLogin, (req, res) => show(req, res));
};
