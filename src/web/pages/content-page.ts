import { typeOfMode } from '../../domain/content-search.ts';
import { renderPage, requireLogin, type Page } from './page.ts';

const TABS = ['info', 'access', 'runtime', 'schedule', 'email', 'tags', 'variables', 'bundles', 'logs', 'parameters'] as const;

/**
 * `/apps/{guid}` (where `/connect/#/apps/{guid}` lands): the content in a frame from the content
 * origin, so nothing it runs can script this page, with what a viewer may know of it beside.
 */
export const contentPage: Page = (r, d) => {
  r.get(['/apps/:guid', '/apps/:guid/:tab'], requireLogin, async (req, res) => {
    const user = req.user!;
    const c = await d.content.visible(user, String(req.params.guid));
    const [withOwner] = await d.content.withOwners(user, [c]);
    const tab = (TABS as readonly string[]).includes(String(req.params.tab)) ? String(req.params.tab) : 'info';
    renderPage(d, req, res, 'content', {
      title: c.title || c.name,
      c,
      owner: withOwner?.owner,
      role: withOwner?.role ?? 'none',
      type: typeOfMode(c.appMode),
      contentUrl: `${d.origin.content(req)}/content/${c.guid}/`,
      tab,
    });
  });
};
