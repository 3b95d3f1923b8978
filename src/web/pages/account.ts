import { actorOf } from '../../http/actor.ts';
import { renderPage, requireLogin, type Page } from './page.ts';

/** `/`: the landing page, with the user's API keys (made and deleted here). */
export const homePage: Page = (r, d) => {
  r.get('/', requireLogin, async (req, res) => {
    renderPage(d, req, res, 'home', { title: 'Lectern', keys: await d.keys.list(req.user!), newKey: null });
  });

  r.post('/keys', requireLogin, d.csrf.protect, async (req, res) => {
    const name = String((req.body as Record<string, unknown>).name ?? '');
    const { key, secret } = await d.keys.create(actorOf(req, 'web'), req.user!, name);
    renderPage(d, req, res, 'home', { title: 'Lectern', keys: await d.keys.list(req.user!), newKey: { name: key.name, secret } }, 201);
  });

  r.post('/keys/:id/delete', requireLogin, d.csrf.protect, async (req, res) => {
    await d.keys.delete(actorOf(req, 'web'), req.user!, String(req.params.id));
    res.redirect(303, '/');
  });

  // Clients print `<server>/connect/#/apps/<guid>` as the dashboard link; the fragment never
  // reaches the server. Until the dashboard exists, the landing page is the closest thing.
  r.get(['/connect', '/connect/'], (_req, res) => res.redirect(302, '/'));
};
