import express, { Router } from 'express';
import { actorOf } from '../../http/actor.ts';
import { THUMBNAIL_MAX_BYTES, type ThumbnailService } from '../../services/thumbnail-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';

/**
 * Setting and removing a content item's thumbnail (connect-api-next.md §2.2, §2.3). Served
 * outside the API, at `/content/{guid}/__thumbnail__` (proxy/content-router.ts).
 */
export function thumbnailRoutes(thumbnails: ThumbnailService): Router {
  const r = Router();
  // Raw bytes whatever the Content-Type says (connectapi sends the file's guessed type, or
  // none): the service decides what they are. Past the limit, the error handler's 413.
  const raw = express.raw({ type: () => true, limit: THUMBNAIL_MAX_BYTES });

  r.put('/v1/content/:guid/thumbnail', requireUser, raw, async (req, res) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    await thumbnails.set(actorOf(req), currentUser(req), String(req.params.guid), bytes);
    res.status(204).end();
  });

  r.delete('/v1/content/:guid/thumbnail', requireUser, async (req, res) => {
    await thumbnails.remove(actorOf(req), currentUser(req), String(req.params.guid));
    res.status(204).end();
  });
  return r;
}
