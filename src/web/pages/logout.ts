import type { RedirectLoginProvider } from '../../auth/provider.ts';
import type { Page } from './page.ts';

/**
 * `POST /logout`: ends the session, then the login page; or, after a single sign-on login
 * whose provider can (OIDC's end_session_endpoint), that provider's logout, which comes back
 * to the login page.
 */
export const logoutPage: Page = (r, d) => {
  r.post('/logout', d.csrf.protect, async (req, res, next) => {
    const user = req.user;
    const remote = req.session.remote;
    const provider = remote && d.logins.find((p): p is RedirectLoginProvider => p.kind === 'redirect' && p.name === remote.provider);
    let target = '/login';
    if (remote && provider?.logoutUrl) {
      try {
        target = (await provider.logoutUrl(remote, `${d.origin.main(req)}/login`))?.href ?? target;
      } catch (err) {
        // The identity provider cannot be reached: the Lectern session still ends.
        req.log?.warn({ err, provider: provider.name }, 'no logout at the identity provider');
      }
    }
    req.logout((err) => {
      if (err) return next(err);
      req.session.destroy(() => {
        if (user) void d.audit.record({ userId: user.id, ip: req.ip, via: 'web' }, 'logout', { type: 'user', id: user.guid });
        res.redirect(303, target);
      });
    });
  });
};
