import { typeOfMode } from '../../domain/content-search.ts';
import { formText, renderPage, requireAdmin, requireLogin, type Page } from './page.ts';

const PAGE_SIZE = 50;

/** The search the form adds up to: the typed query (the catalog's language) and the filter. */
export function adminContentQuery(q: string, unpublishedOnly: boolean): string {
  return [q.trim(), unpublishedOnly ? 'is:unpublished' : ''].filter(Boolean).join(' ');
}

/**
 * `/admin/content`: every item on the server, unpublished ones (no active bundle) and ones the
 * administrator has no role on included. It is the catalog's search (ContentSearchService): for
 * an administrator that already covers everything, and `is:unpublished` is its own filter, so
 * there is no second query to keep in step.
 */
export const adminContentPage: Page = (r, d) => {
  r.get('/admin/content', requireLogin, requireAdmin, async (req, res) => {
    const q = formText(req.query.q, 1000);
    const unpublished = req.query.unpublished === '1';
    const page = Math.max(1, Math.min(100_000, Number.parseInt(formText(req.query.page, 6), 10) || 1));
    const found = await d.search.search(req.user!, { q: adminContentQuery(q, unpublished), sort: 'updated', order: 'desc', page, pageSize: PAGE_SIZE });
    const link = (p: number) => {
      const s = new URLSearchParams();
      if (q) s.set('q', q);
      if (unpublished) s.set('unpublished', '1');
      if (p > 1) s.set('page', String(p));
      const qs = s.toString();
      return qs ? `/admin/content?${qs}` : '/admin/content';
    };
    renderPage(d, req, res, 'admin-content', {
      title: 'All content',
      adminSection: 'content',
      q,
      unpublished,
      found,
      page,
      pages: Math.max(1, Math.ceil(found.total / PAGE_SIZE)),
      link,
      typeOf: typeOfMode,
      pageScripts: ['local-time.js'],
    });
  });
};
