import { LOGIN_FORM, type PassportFailure } from '../../auth/passport.ts';
import { AppError } from '../../domain/errors.ts';
import { safeNext } from '../../http/safe-redirect.ts';
import { renderPage, type Page, type PageDeps } from './page.ts';

/** What the login page offers: the password form (Lectern's or LDAP's), and a button per redirect provider. */
export function loginOffers(d: PageDeps) {
  return {
    passwordForm: d.logins.some((p) => p.kind === 'password'),
    buttons: d.logins.filter((p) => p.kind === 'redirect').map((p) => ({ name: p.name, label: p.displayName ?? p.name })),
  };
}

/** `/login`: the form, and its post checked by the password provider the username belongs to (auth/passport.ts). */
export const loginPage: Page = (r, d) => {
  r.get('/login', (req, res) => {
    const next = safeNext(req.query.next, d.origin.content(req));
    if (req.user) return res.redirect(303, next);
    renderPage(d, req, res, 'login', { title: 'Log in', next, error: null, username: '', ...loginOffers(d) });
  });

  const passwordForm = loginOffers(d).passwordForm;
  // Password logins switched off (auth.password.enabled, and no LDAP): nothing checks one, so
  // the refusal needs no CSRF token (it changes nothing).
  r.post('/login', (_req, _res, next) => next(passwordForm ? undefined : AppError.forbidden('Logging in with a password is switched off on this server.')));
  r.post('/login', d.csrf.protect, (req, res, next) => {
    const body = req.body as Record<string, unknown>;
    const target = safeNext(body.next, d.origin.content(req));
    d.passport.authenticate(LOGIN_FORM, (err: unknown, user: Express.User | false, info?: PassportFailure) => {
      if (err) return next(err);
      if (!user) {
        const failure = info?.status ? info : { status: 401 as const, message: 'Enter a username and a password.' };
        if (failure.retryAfter) res.set('Retry-After', String(failure.retryAfter));
        return renderPage(
          d,
          req,
          res,
          'login',
          { title: 'Log in', next: target, error: failure.message, username: String(body.username ?? ''), ...loginOffers(d) },
          failure.status,
        );
      }
      // passport regenerates the session here, so a pre-login session id cannot be fixed.
      req.logIn(user, (loginErr) => (loginErr ? next(loginErr) : res.redirect(303, user.mustChangePassword ? '/password' : target)));
    })(req, res, next);
  });
};
