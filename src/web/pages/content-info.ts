import type { Request, Response } from 'express';
import multer from 'multer';
import { AppError, ErrorCode } from '../../domain/errors.ts';
import { actorOf } from '../../http/actor.ts';
import { THUMBNAIL_MAX_BYTES } from '../../services/thumbnail-service.ts';
import type { SettingsSection } from './content-section.ts';
import { formText } from './page.ts';

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

/** The Info tab: title, description and thumbnail, changed through the same services as the API. */
export const infoSection: SettingsSection = {
  tab: 'info',
  label: 'Info',
  // Whether to offer removing it.
  load: async (d, _req, c) => ({ hasThumbnail: !!(await d.thumbnails.of(c)) }),
  parsers: { thumbnail: thumbnailUpload },
  actions: (d) => ({
    info: async (req) => {
      const body = req.body as Record<string, unknown>;
      const user = req.user!;
      const c = await d.content.manageable(user, String(req.params.guid));
      const title = formText(body.title, 1024).trim();
      await d.content.update(actorOf(req, 'web'), user, c, { title: title || null, description: formText(body.description, 65_536) });
    },
    thumbnail: async (req, res) => {
      if (res.locals.uploadProblem) throw new AppError(413, ErrorCode.invalidParameter, String(res.locals.uploadProblem));
      if (!req.file) throw AppError.badRequest('Choose an image to upload.');
      await d.thumbnails.set(actorOf(req, 'web'), req.user!, String(req.params.guid), req.file.buffer);
    },
    'thumbnail/delete': async (req) => {
      await d.thumbnails.remove(actorOf(req, 'web'), req.user!, String(req.params.guid)).catch((err: { code?: number }) => {
        if (err.code !== 17) throw err; // already gone: what the user wanted
      });
    },
  }),
};
