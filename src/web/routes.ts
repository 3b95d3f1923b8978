import express, { Router, type NextFunction, type Request, type Response } from 'express';

import { actorOf } from '../api/actor.ts';
import { AppError } from '../domain/errors.ts';
import type { ApiKeyService } from '../services/api-key-service.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { UserService } from '../services/user-service.ts';
import type { LecternPassport, LoginFailure } from './passport.ts';
import type { Origins } from './origins.ts';
import { safeNext } from './safe-redirect.ts';

export interface WebDeps {
  passport: LecternPassport;
  users: UserService;
  keys: ApiKeyService;
  audit: AuditLog;
  origin: Origins;
  csrf: { protect: (req: Request, res: Response, next: NextFunction) => void; token: (req: Request) => string };
}

type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

const requireLogin: Handler = (req, res, next) => {
  if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  // A generated password must be replaced before anything else.
  if (req.user.mustChangePassword && req.path !== '/password') return res.redirect(303, '/password');
  next();
};

/** The browser pages: login, logout, the landing page with API keys, password change. */
export function webRoutes(d: WebDeps): Router {
  const r = Router();
  r.use(express.urlencoded({ extended: false, limit: '64kb' }));

  const render = (req: Request, res: Response, view: string, locals: Record<string, unknown> = {}, status = 200) =>
    res.status(status).render(view, { user: req.user, csrfToken: d.csrf.token(req), ...locals });

  r.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, safeNext(req.query.next, d.origin.content(req)));
    render(req, res, 'login', { title: 'Log in', next: safeNext(req.query.next, d.origin.content(req)), error: null, username: '' });
  });

  r.post('/login', d.csrf.protect, (req, res, next) => {
    const body = req.body as Record<string, unknown>;
    const target = safeNext(body.next, d.origin.content(req));
    d.passport.authenticate('local', (err: unknown, user: Express.User | false, info?: LoginFailure) => {
      if (err) return next(err);
      if (!user) {
        const failure = info ?? { status: 401 as const, message: 'Enter a username and a password.' };
        if (failure.retryAfter) res.set('Retry-After', String(failure.retryAfter));
        return render(req, res, 'login', { title: 'Log in', next: target, error: failure.message, username: String(body.username ?? '') }, failure.status);
      }
      // passport regenerates the session here, so a pre-login session id cannot be fixed.
      req.logIn(user, (loginErr) => (loginErr ? next(loginErr) : res.redirect(303, user.mustChangePassword ? '/password' : target)));
    })(req, res, next);
  });

  r.post('/logout', d.csrf.protect, (req, res, next) => {
    const user = req.user;
    req.logout((err) => {
      if (err) return next(err);
      req.session.destroy(() => {
        if (user) void d.audit.record({ userId: user.id, ip: req.ip, via: 'web' }, 'logout', { type: 'user', id: user.guid });
        res.redirect(303, '/login');
      });
    });
  });

  r.get('/', requireLogin, async (req, res) => {
    render(req, res, 'home', { title: 'Lectern', keys: await d.keys.list(req.user!), newKey: null });
  });

  r.post('/keys', requireLogin, d.csrf.protect, async (req, res) => {
    const name = String((req.body as Record<string, unknown>).name ?? '');
    const { key, secret } = await d.keys.create(actorOf(req, 'web'), req.user!, name);
    render(req, res, 'home', { title: 'Lectern', keys: await d.keys.list(req.user!), newKey: { name: key.name, secret } }, 201);
  });

  r.post('/keys/:id/delete', requireLogin, d.csrf.protect, async (req, res) => {
    await d.keys.delete(actorOf(req, 'web'), req.user!, String(req.params.id));
    res.redirect(303, '/');
  });

  // Clients print `<server>/connect/#/apps/<guid>` as the dashboard link; the fragment never
  // reaches the server. Until the dashboard exists, the landing page is the closest thing.
  r.get(['/connect', '/connect/'], (_req, res) => res.redirect(302, '/'));

  r.get('/password', requireLogin, (req, res) => render(req, res, 'password', { title: 'Change password', error: null }));

  r.post('/password', requireLogin, d.csrf.protect, async (req, res) => {
    const b = req.body as Record<string, unknown>;
    const user = req.user!;
    const current = user.mustChangePassword ? null : String(b.current ?? '');
    const next = String(b.password ?? '');
    try {
      if (next !== String(b.confirm ?? '')) throw AppError.badRequest('The two new passwords differ.');
      // Every other session of this user ends; this one stays logged in.
      await d.users.changePassword(actorOf(req, 'web'), user, current, next, req.sessionID);
    } catch (err) {
      if (err instanceof AppError && err.status === 400) {
        return render(req, res, 'password', { title: 'Change password', error: err.message }, 400);
      }
      throw err;
    }
    res.redirect(303, '/');
  });

  return r;
}
