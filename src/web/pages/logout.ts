import type { Page } from './page.ts';

/** `POST /logout`: ends the session, then the login page. */
export const logoutPage: Page = (r, d) => {
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
};
