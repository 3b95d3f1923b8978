import type { PassportFailure } from '../../auth/passport.ts';
import { safeNext } from '../../http/safe-redirect.ts';
import { renderPage, type Page } from './page.ts';

/** `/login`: the form, and its post checked by the first password provider. */
export const loginPage: Page = (r, d) => {
  r.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, safeNext(req.query.next, d.origin.content(req)));
    renderPage(d, req, res, 'login', { title: 'Log in', next: safeNext(req.query.next, d.origin.content(req)), error: null, username: '' });
  });

  const form = d.logins.find((p) => p.kind === 'password');
  if (!form) return;
  r.post('/login', d.csrf.protect, (req, res, next) => {
    const body = req.body as Record<string, unknown>;
    const target = safeNext(body.next, d.origin.content(req));
    d.passport.authenticate(form.name, (err: unknown, user: Express.User | false, info?: PassportFailure) => {
      if (err) return next(err);
      if (!user) {
        const failure = info ?? { status: 401 as const, message: 'Enter a username and a password.' };
        if (failure.retryAfter) res.set('Retry-After', String(failure.retryAfter));
        return renderPage(
          d,
          req,
          res,
          'login',
          { title: 'Log in', next: target, error: failure.message, username: String(body.username ?? '') },
          failure.status,
        );
      }
      // passport regenerates the session here, so a pre-login session id cannot be fixed.
      req.logIn(user, (loginErr) => (loginErr ? next(loginErr) : res.redirect(303, user.mustChangePassword ? '/password' : target)));
    })(req, res, next);
  });
};
