import type { Request, Response } from 'express';
import multer from 'multer';
import { typeOfMode } from '../../domain/content-search.ts';
import { AppError, ErrorCode } from '../../domain/errors.ts';
import { THUMBNAIL_MAX_BYTES } from '../../services/thumbnail-service.ts';
import { actorOf } from '../../http/actor.ts';
import { accessActions } from './content-access.ts';
import { bundleActions } from './content-bundles.ts';
import { tagActions, tagsOf } from './content-tags.ts';
import { variableActions } from './content-variables.ts';
import { RUNTIME_FIELDS, runsProcesses, runtimeActions } from './content-runtime.ts';
import { emailActions, emailOf } from './content-email.ts';
import { formRefusal, formText, renderPage, requireLogin, type Page, type PageDeps } from './page.ts';

const TABS = ['info', 'access', 'runtime', 'schedule', 'email', 'tags', 'variables', 'bundles', 'logs', 'parameters'] as const;

// One image in memory, a byte over the cap so the service can say it is too large.
const parseUpload = multer({ storage: multer.memoryStorage(), limits: { fileSize: THUMBNAIL_MAX_BYTES, files: 1, fields: 4 } }).single('image');

/** The upload, or the reason it was refused (too large) for the page to say. */
const thumbnailUpload = (req: Request, res: Response, next: (err?: unknown) => void) =>
  parseUpload(req, res, (err: unknown) => {
    if ((err as { code?: string } | undefined)?.code === 'LIMIT_FILE_SIZE') {
      res.locals.uploadProblem = 'A thumbnail may be at most 2 MB.';
      return next();
    }
    next(err);
  });

/** The item's jobs, newest first, and the one to follow (asked for, else the newest). */
async function logsOf(d: PageDeps, guid: string, wanted: unknown) {
  const jobs = (await d.jobs.list(guid)).sort((a, b) => b.startTime.localeCompare(a.startTime)).slice(0, 50);
  const selected = jobs.find((j) => j.key === wanted)?.key ?? jobs[0]?.key ?? '';
  return { jobs, selected };
}

/**
 * `/apps/{guid}` (where `/connect/#/apps/{guid}` lands): the content in a frame from the content
 * origin, so nothing it runs can script this page, with its settings beside it for the people
 * who manage it. Each settings form posts to `/apps/{guid}/<what>` and comes back here.
 */
export const contentPage: Page = (r, d) => {
  const show = async (req: Request, res: Response, status = 200, problem: string | null = null) => {
    const user = req.user!;
    const c = await d.content.visible(user, String(req.params.guid));
    const [withOwner] = await d.content.withOwners(user, [c]);
    const tab = (TABS as readonly string[]).includes(String(req.params.tab)) ? String(req.params.tab) : 'info';
    const manages = await d.content.mayManage(user, c);
    renderPage(
      d,
      req,
      res,
      'content',
      {
        title: c.title || c.name,
        c,
        owner: withOwner?.owner,
        role: withOwner?.role ?? 'none',
        type: typeOfMode(c.appMode),
        contentOrigin: d.origin.content(req),
        contentUrl: `${d.origin.content(req)}/content/${c.guid}/`,
        tab,
        manages,
        hasThumbnail: !!(await d.thumbnails.of(c)),
        access: manages ? { grants: await d.permissions.listNamed(user, c), vanity: (await d.vanities.forContent(c))?.path ?? null } : null,
        logs: manages ? await logsOf(d, c.guid, req.query.job) : null,
        tagInfo: manages ? await tagsOf(d, req, c.guid) : null,
        variableNames: manages ? await d.variables.names(c) : null,
        runtime: manages && runsProcesses(d, c) ? { fields: RUNTIME_FIELDS } : null,
        email: await emailOf(d, user, c),
        bundles: manages
          ? { list: (await d.bundles.list(user, c.guid)).bundles, task: typeof req.query.task === 'string' ? req.query.task.slice(0, 64) : null }
          : null,
        saved: req.query.saved === '1',
        problem,
      },
      status,
    );
  };
  // A form's failure is shown on the page it came from, with the reason, not as a bare error page.
  const act = (tab: string, f: (req: Request, res: Response) => Promise<string | void>) => async (req: Request, res: Response) => {
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

  for (const [what, action] of Object.entries(accessActions(d))) r.post(`/apps/:guid/${what}`, requireLogin, d.csrf.protect, act('access', action));
  // Not only for managers: anyone who may see a report subscribes themselves.
  for (const [what, action] of Object.entries(emailActions(d))) r.post(`/apps/:guid/${what}`, requireLogin, d.csrf.protect, act('email', action));
  for (const [what, action] of Object.entries(runtimeActions(d))) r.post(`/apps/:guid/${what}`, requireLogin, d.csrf.protect, act('runtime', action));
  for (const [what, action] of Object.entries(variableActions(d))) r.post(`/apps/:guid/${what}`, requireLogin, d.csrf.protect, act('variables', action));
  for (const [what, action] of Object.entries(tagActions(d))) r.post(`/apps/:guid/${what}`, requireLogin, d.csrf.protect, act('tags', action));
  for (const [what, action] of Object.entries(bundleActions(d))) r.post(`/apps/:guid/${what}`, requireLogin, d.csrf.protect, act('bundles', action));

  r.post(
    '/apps/:guid/info',
    requireLogin,
    d.csrf.protect,
    act('info', async (req) => {
      const body = req.body as Record<string, unknown>;
      const user = req.user!;
      const c = await d.content.manageable(user, String(req.params.guid));
      const title = formText(body.title, 1024).trim();
      await d.content.update(user, c, { title: title || null, description: formText(body.description, 65_536) });
    }),
  );

  r.post(
    '/apps/:guid/thumbnail',
    requireLogin,
    thumbnailUpload,
    d.csrf.protect,
    act('info', async (req, res) => {
      if (res.locals.uploadProblem) throw new AppError(413, ErrorCode.invalidParameter, String(res.locals.uploadProblem));
      if (!req.file) throw AppError.badRequest('Choose an image to upload.');
      await d.thumbnails.set(actorOf(req, 'web'), req.user!, String(req.params.guid), req.file.buffer);
    }),
  );

  r.post(
    '/apps/:guid/thumbnail/delete',
    requireLogin,
    d.csrf.protect,
    act('info', async (req) => {
      await d.thumbnails.remove(actorOf(req, 'web'), req.user!, String(req.params.guid)).catch((err: { code?: number }) => {
        if (err.code !== 17) throw err; // already gone: what the user wanted
      });
    }),
  );
};
