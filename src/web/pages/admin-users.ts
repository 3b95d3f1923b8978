import type { Request, Response } from 'express';
import { USER_ROLES, type UserRole } from '../../domain/user.ts';
import { actorOf } from '../../http/actor.ts';
import { formRefusal, formText, renderPage, requireAdmin, requireLogin, type Page } from './page.ts';

const PAGE_SIZE = 50;
const text = (v: unknown, max: number) => formText(v, max).trim();

/**
 * `/admin/users`: every account, searchable by name; an administrator creates one (a password
 * is generated and shown once unless one is given), changes a role, and locks or unlocks one.
 * The same UserService as the API does the work and the auditing.
 */
export const adminUsersPage: Page = (r, d) => {
  const show = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const prefix = text(req.query.q, 100);
    const page = Math.max(1, Number.parseInt(text(req.query.page, 6), 10) || 1);
    const { users, total } = await d.users.list({ prefix: prefix || undefined, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    renderPage(
      d,
      req,
      res,
      'admin-users',
      {
        title: 'Users',
        adminSection: 'users',
        users,
        total,
        q: prefix,
        page,
        pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
        roles: USER_ROLES,
        made: null,
        problem: null,
        ...extra,
      },
      status,
    );
  };
  // A refused change is shown on the page with its reason (a 4xx from the service).
  const act = (f: (req: Request) => Promise<Record<string, unknown> | void>) => async (req: Request, res: Response) => {
    try {
      const extra = await f(req);
      if (extra) return show(req, res, extra, 201);
    } catch (err) {
      const refused = formRefusal(err);
      if (!refused) throw err;
      return show(req, res, { problem: refused.message }, refused.status);
    }
    res.redirect(303, '/admin/users');
  };

  r.get('/admin/users', requireLogin, requireAdmin, (req, res) => show(req, res));

  r.post(
    '/admin/users',
    requireLogin,
    requireAdmin,
    d.csrf.protect,
    act(async (req) => {
      const b = req.body as Record<string, unknown>;
      const role = (USER_ROLES as readonly unknown[]).includes(b.role) ? (b.role as UserRole) : 'viewer';
      const password = text(b.password, 256);
      const { user, generatedPassword } = await d.users.create(actorOf(req, 'web'), {
        username: text(b.username, 64),
        email: text(b.email, 320),
        role,
        ...(password ? { password } : {}),
      });
      return { made: { username: user.username, password: generatedPassword ?? null } };
    }),
  );

  r.post(
    '/admin/users/:guid/role',
    requireLogin,
    requireAdmin,
    d.csrf.protect,
    act(async (req) => {
      const role = (req.body as Record<string, unknown>).role;
      const user = await d.users.byGuid(String(req.params.guid));
      await d.users.update(actorOf(req, 'web'), user, { role: role as UserRole });
    }),
  );

  r.post(
    '/admin/users/:guid/lock',
    requireLogin,
    requireAdmin,
    d.csrf.protect,
    act(async (req) => {
      const user = await d.users.byGuid(String(req.params.guid));
      await d.users.setLocked(actorOf(req, 'web'), user, (req.body as Record<string, unknown>).locked === 'true');
    }),
  );
};
