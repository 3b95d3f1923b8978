import type { Request, Response } from 'express';
import { typeOfMode } from '../../domain/content-search.ts';
import { emailActions, emailOf } from './content-email.ts';
import type { SettingsAction } from './content-section.ts';
import { SETTINGS_SECTIONS } from './content-sections.ts';
import { formRefusal, renderPage, requireLogin, type Page } from './page.ts';

/** An htmx request for the settings panel alone (a tab switched in place): the fragment, not the page. */
const wantsSettingsOnly = (req: Request) => req.get('HX-Request') === 'true' && req.get('HX-Target') === 'settings';

/**
 * `/apps/{guid}[/{tab}]` (where `/connect/#/apps/{guid}` lands): the content in a frame from the
 * content origin, so nothing it runs can script this page, with its settings beside it for the
 * people who manage it, one tab at a time (only the open tab's data is loaded). Each settings
 * form posts to `/apps/{guid}/<what>` and comes back to its tab.
 */
export const contentPage: Page = (r, d) => {
  const show = async (req: Request, res: Response, status = 200, problem: string | null = null) => {
    const user = req.user!;
    const c = await d.content.visible(user, String(req.params.guid));
    const manages = await d.content.mayManage(user, c);
    const sections = manages ? SETTINGS_SECTIONS.filter((s) => !s.applies || s.applies(d, c)) : [];
    const open = sections.find((s) => s.tab === req.params.tab) ?? sections[0];
    const panel = {
      c,
      manages,
      sections: sections.map((s) => ({ tab: s.tab, label: s.label })),
      tab: open?.tab ?? null,
      ...(open ? await open.load(d, req, c) : {}),
      saved: req.query.saved === '1',
      problem,
    };
    // The fragment and the page share a URL: caches must keep them apart.
    res.vary('HX-Request').vary('HX-Target');
    // A tab switched in place needs the panel alone: nothing of the page around it is read.
    if (manages && wantsSettingsOnly(req)) return renderPage(d, req, res, 'partials/settings', panel, status);
    const [withOwner] = await d.content.withOwners(user, [c]);
    const locals = {
      ...panel,
      title: c.title || c.name,
      owner: withOwner?.owner,
      role: withOwner?.role ?? 'none',
      type: typeOfMode(c.appMode),
      contentOrigin: d.origin.content(req),
      contentUrl: `${d.origin.content(req)}/content/${c.guid}/`,
      // The Info tab has read it already when it is the one open.
      hasThumbnail: 'hasThumbnail' in panel ? panel.hasThumbnail : !!(await d.thumbnails.of(c)),
      email: await emailOf(d, user, c),
      pageScripts: manages ? ['log-tail.js', 'local-time.js', 'schedule-form.js'] : [],
    };
    // A visit to the page (not a tab switched, nor a form shown back) is the catalog's "Recently viewed".
    if (req.method === 'GET') await d.search.recordView(user, c);
    renderPage(d, req, res, 'content', locals, status);
  };
  // A form's failure is shown on the page it came from, with the reason, not as a bare error page.
  const act = (tab: string, f: SettingsAction) => async (req: Request, res: Response) => {
    let next: string | void;
    try {
      next = await f(req, res);
    } catch (err) {
      // An item the user may not see (404) is the error page's, never a form's message.
      const refused = formRefusal(err, false);
      if (!refused) throw err;
      req.params.tab = tab;
      return show(req, res, refused.status, refused.message);
    }
    // An action may say where to go next (an activation: the page following its task).
    res.redirect(303, next ?? `/apps/${String(req.params.guid)}/${tab}?saved=1`);
  };

  r.get(['/apps/:guid', '/apps/:guid/:tab'], requireLogin, (req, res) => show(req, res));

  // Not only for managers: anyone who may see a report subscribes themselves.
  for (const [what, action] of Object.entries(emailActions(d))) r.post(`/apps/:guid/${what}`, requireLogin, d.csrf.protect, act('email', action));
  for (const section of SETTINGS_SECTIONS) {
    for (const [what, action] of Object.entries(section.actions?.(d) ?? {})) {
      const parser = section.parsers?.[what];
      r.post(`/apps/:guid/${what}`, requireLogin, ...(parser ? [parser] : []), d.csrf.protect, act(section.tab, action));
    }
  }
};
