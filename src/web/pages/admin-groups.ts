import type { Request, Response } from 'express';
import { actorOf } from '../../http/actor.ts';
import { formRefusal, formText, renderPage, requireAdmin, requireLogin, type Page } from './page.ts';

const PAGE_SIZE = 50;
const text = (v: unknown, max: number) => formText(v, max).trim();

/**
 * `/admin/groups`: every group, searchable by the start of its name; an administrator creates
 * one here and manages it on its own page (admin-group.ts). GroupService does the work and the
 * auditing, as for the API.
 */
export const adminGroupsPage: Page = (r, d) => {
  const show = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const prefix = text(req.query.q, 128);
    const page = Math.max(1, Number.parseInt(text(req.query.page, 6), 10) || 1);
    const { groups, total } = await d.groups.list({ prefix: prefix || undefined, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    renderPage(
      d,
      req,
      res,
      'admin-groups',
      {
        title: 'Groups',
        adminSection: 'groups',
        groups,
        total,
        q: prefix,
        page,
        pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
        // After a delete (admin-group.ts redirects here with the name).
        deleted: text(req.query.deleted, 128) || null,
        problem: null,
        name: '',
        ...extra,
      },
      status,
    );
  };

  r.get('/admin/groups', requireLogin, requireAdmin, (req, res) => show(req, res));

  r.post('/admin/groups', requireLogin, requireAdmin, d.csrf.protect, async (req, res) => {
    const name = text((req.body as Record<string, unknown>).name, 200);
    try {
      const g = await d.groups.create(actorOf(req, 'web'), req.user!, name);
      res.redirect(303, `/admin/groups/${g.guid}`);
    } catch (err) {
      const refused = formRefusal(err);
      if (!refused) throw err;
      // The name stays in the field so it can be corrected.
      await show(req, res, { problem: refused.message, name }, refused.status);
    }
  });
};
