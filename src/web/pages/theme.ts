import { requireLogin, THEME_COOKIE, type Page } from './page.ts';

/**
 * `POST /theme`: light or dark, remembered in a cookie (no account setting needed, works
 * without JavaScript); without one the browser's own preference decides.
 */
export const themePage: Page = (r, d) => {
  r.post('/theme', requireLogin, d.csrf.protect, (req, res) => {
    const theme = (req.body as Record<string, unknown>).theme;
    if (theme === 'light' || theme === 'dark') {
      res.cookie(THEME_COOKIE, theme, { httpOnly: true, sameSite: 'lax', maxAge: 365 * 24 * 3600_000, path: '/' });
    }
    res.redirect(303, backTo(req.get('Referer'), d.origin.own(req)));
  });
};

// Back to the page the switch was on, if it was one of Lectern's (never another site's).
function backTo(referer: string | undefined, own: string): string {
  try {
    const u = new URL(referer ?? '');
    return u.origin === own ? u.pathname + u.search : '/';
  } catch {
    return '/';
  }
}
