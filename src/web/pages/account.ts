import { actorOf } from '../../http/actor.ts';
import { renderPage, requireLogin, type Page } from './page.ts';

/** `/account`: who the user is, and their API keys (made and deleted here). */
export const accountPage: Page = (r, d) => {
  r.get('/account', requireLogin, async (req, res) => {
    renderPage(d, req, res, 'account', { title: 'Your account', keys: await d.keys.list(req.user!), newKey: null });
  });

  r.post('/keys', requireLogin, d.csrf.protect, async (req, res) => {
    const name = String((req.body as Record<string, unknown>).name ?? '');
    const { key, secret } = await d.keys.create(actorOf(req, 'web'), req.user!, name);
    renderPage(d, req, res, 'account', { title: 'Your account', keys: await d.keys.list(req.user!), newKey: { name: key.name, secret } }, 201);
  });

  r.post('/keys/:id/delete', requireLogin, d.csrf.protect, async (req, res) => {
    await d.keys.delete(actorOf(req, 'web'), req.user!, String(req.params.id));
    res.redirect(303, '/account');
  });
};
