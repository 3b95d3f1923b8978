import { actorOf } from '../../http/actor.ts';
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import type { Vanity } from '../../repositories/vanity-repo.ts';
import type { ContentService } from '../../services/content-service.ts';
import type { VanityService } from '../../services/vanity-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { iso } from '../serializers/iso.ts';
import { parseInput } from '../validate.ts';

const vanityJson = (v: Vanity) => ({ content_guid: v.contentGuid, path: v.path, created_time: iso(v.createdTime) });
const body = z.object({ path: z.string().max(2048), force: z.boolean().optional() }).loose();

/** Connect's vanity URL endpoints. */
export function vanityRoutes(content: ContentService, vanities: VanityService): Router {
  const r = Router();

  r.get('/v1/content/:guid/vanity', requireUser, async (req, res) => {
    const c = await content.visible(currentUser(req), String(req.params.guid));
    const v = await vanities.forContent(c);
    if (!v) throw AppError.notFound('This content has no vanity path.');
    res.json(vanityJson(v));
  });

  r.put('/v1/content/:guid/vanity', requireUser, async (req, res) => {
    const user = currentUser(req);
    const c = await content.manageable(user, String(req.params.guid));
    const b = parseInput(body, req.body);
    res.json(vanityJson(await vanities.set(actorOf(req), user, c, b.path, b.force ?? false)));
  });

  r.delete('/v1/content/:guid/vanity', requireUser, async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    await vanities.remove(actorOf(req), c);
    res.json({});
  });

  // Only the paths of content the caller may see.
  r.get('/v1/vanities', requireUser, async (req, res) => {
    const user = currentUser(req);
    const visible: Vanity[] = [];
    for (const v of await vanities.all()) {
      if (
        await content.visible(user, v.contentGuid).then(
          () => true,
          () => false,
        )
      )
        visible.push(v);
    }
    res.json(visible.map(vanityJson));
  });
  return r;
}
