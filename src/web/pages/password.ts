import { AppError } from '../../domain/errors.ts';
import { actorOf } from '../../http/actor.ts';
import { renderPage, requireLogin, type Page } from './page.ts';

/** `/password`: a user changes their password (first, when it was generated for them). */
export const passwordPage: Page = (r, d) => {
  r.get('/password', requireLogin, (req, res) => renderPage(d, req, res, 'password', { title: 'Change password', error: null }));

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
        return renderPage(d, req, res, 'password', { title: 'Change password', error: err.message }, 400);
      }
      throw err;
    }
    res.redirect(303, '/');
  });
};
