import { Router } from 'express';
import { z } from 'zod';
import { actorOf } from '../../http/actor.ts';
import { LOCAL_IMAGE } from '../../domain/runtime-caches.ts';
import type { RuntimeCacheService } from '../../services/runtime-cache-service.ts';
import { currentUser, requireRole } from '../middleware/require-role.ts';
import { parseInput } from '../validate.ts';

// posit-sdk-py's recorded fixture spells the language "python": either case names the cache.
const LANGUAGES: Record<string, 'R' | 'Python'> = { r: 'R', python: 'Python' };

const deleteBody = z
  .object({
    language: z.string().min(1).max(32),
    version: z.string().min(1).max(64),
    image_name: z.string().min(1).max(1024).default(LOCAL_IMAGE),
    dry_run: z.boolean().default(false),
  })
  .loose();

/** `/v1/system/caches/runtime` (connect-api-next.md §9.4): administrators only, when the server allows it. */
export function runtimeCacheRoutes(caches: RuntimeCacheService): Router {
  const r = Router();
  const path = '/v1/system/caches/runtime';

  r.get(path, requireRole('administrator'), async (_req, res) => {
    const list = await caches.list();
    res.json({ caches: list.map((c) => ({ language: c.language, version: c.version, image_name: c.imageName })) });
  });

  r.delete(path, requireRole('administrator'), async (req, res) => {
    const b = parseInput(deleteBody, req.body);
    const { cache, task } = await caches.remove(actorOf(req), currentUser(req), {
      // An unknown language names no cache: the service's 404, as an unknown version does.
      language: LANGUAGES[b.language.toLowerCase()] ?? b.language,
      version: b.version,
      imageName: b.image_name,
      dryRun: b.dry_run,
    });
    res.json({ language: cache.language, version: cache.version, image_name: cache.imageName, task_id: task?.id ?? null });
  });

  return r;
}
