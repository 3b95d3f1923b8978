import type { Request, Response } from 'express';
import type { Group } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { actorOf } from '../../http/actor.ts';
import { formRefusal, formText, renderPage, requireAdmin, requireLogin, type Page } from './page.ts';

const text = (v: unknown, max: number) => formText(v, max).trim();

/**
 * `/admin/groups/{guid}`: one group's members; an administrator adds one by username, removes
 * one, or deletes the group. Deleting asks for a ticked confirmation in the form itself, so it
 * needs no script and cannot happen by one stray click. GroupService does the work and audits.
 */
export const adminGroupPage: Page = (r, d) => {
  const show = async (req: Request, res: Response, g: Group, extra: Record<string, unknown> = {}, status = 200) => {
    const members = await d.groups.members(req.user!, g);
    renderPage(
      d,
      req,
      res,
      'admin-group',
      { title: `Group ${g.name}`, adminSection: 'groups', group: g, members, problem: null, username: '', ...extra },
      status,
    );
  };
  // A refused change is shown on the group's page with its reason; a done one goes back to it.
  const act =
    (f: (req: Request, g: Group) => Promise<string | void>) =>
    async (req: Request, res: Response): Promise<void> => {
      const g = await d.groups.byGuid(String(req.params.guid));
      try {
        const next = await f(req, g);
        return res.redirect(303, next ?? `/admin/groups/${g.guid}`);
      } catch (err) {
        const refused = formRefusal(err);
        if (!refused) throw err;
        return show(req, res, g, { problem: refused.message, username: text((req.body as Record<string, unknown>).username, 64) }, refused.status);
      }
    };
  const guard = [requireLogin, requireAdmin];

  r.get('/admin/groups/:guid', ...guard, async (req, res) => show(req, res, await d.groups.byGuid(String(req.params.guid))));

  r.post(
    '/admin/groups/:guid/members',
    ...guard,
    d.csrf.protect,
    act(async (req, g) => {
      const member = await d.users.byUsername(text((req.body as Record<string, unknown>).username, 64));
      await d.groups.addMember(actorOf(req, 'web'), req.user!, g, member.guid);
    }),
  );

  r.post(
    '/admin/groups/:guid/members/:user/remove',
    ...guard,
    d.csrf.protect,
    act(async (req, g) => d.groups.removeMember(actorOf(req, 'web'), req.user!, g, String(req.params.user))),
  );

  r.post(
    '/admin/groups/:guid/delete',
    ...guard,
    d.csrf.protect,
    act(async (req, g) => {
      if ((req.body as Record<string, unknown>).confirm !== 'yes') throw AppError.badRequest('Tick the confirmation to delete the group.');
      await d.groups.delete(actorOf(req, 'web'), req.user!, g);
      return `/admin/groups?deleted=${encodeURIComponent(g.name)}`;
    }),
  );
};
