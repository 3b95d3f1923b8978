import { Router, type Request } from 'express';
import { z } from 'zod';
import type { GitLocation } from '../../domain/git-location.ts';
import { actorOf } from '../../http/actor.ts';
import type { ContentService } from '../../services/content-service.ts';
import type { GitServices } from '../../services/git/index.ts';
import { baseUrl } from '../base-url.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { iso } from '../serializers/iso.ts';
import { parseInput } from '../validate.ts';

// Lectern's own: credentials for a private https repository, stored sealed and never returned.
const credentials = z
  .object({ username: z.string().max(256), token: z.string().min(1).max(4096) })
  .strict()
  .nullable();

const putBody = z
  .object({
    repository: z.string(),
    branch: z.string().default('main'),
    directory: z.string().default('.'),
    polling: z.boolean().default(false),
    preview_branches: z.boolean().default(false),
    credentials: credentials.optional(),
  })
  .loose();

const patchBody = z
  .object({
    repository: z.string().optional(),
    branch: z.string().optional(),
    directory: z.string().optional(),
    polling: z.boolean().optional(),
    preview_branches: z.boolean().optional(),
    credentials: credentials.optional(),
  })
  .loose();

const bundleBody = z.object({ repository: z.string().optional(), ref: z.string().optional(), directory: z.string().optional() }).loose();

/**
 * Git-backed content (connect-api-next.md §9.3), for who may deploy the item: its location
 * (GET, PUT, PATCH, DELETE), a bundle made from it now, and the webhook's secret. Connect's
 * GitLocationOutput, plus Lectern's `preview_branches`, `has_credentials` and `webhook_url`.
 */
export function gitRepositoryRoutes(content: ContentService, git: GitServices, publicUrl: string | undefined): Router {
  const r = Router();
  const path = '/v1/content/:guid/repository';
  r.use(path, requireUser);

  const json = (req: Request, guid: string, l: GitLocation) => ({
    repository: l.repository,
    branch: l.branch,
    directory: l.directory,
    polling: l.polling,
    last_error: l.lastError,
    last_known_commit: l.lastKnownCommit,
    last_fetched_time: iso(l.lastFetchedTime),
    preview_branches: l.previewBranches,
    has_credentials: l.hasCredentials,
    webhook_url: `${baseUrl(req, publicUrl)}/__api__/v1/content/${guid}/repository/webhook`,
  });

  r.get(path, async (req, res) => {
    const c = await content.deployable(currentUser(req), String(req.params.guid));
    res.json(json(req, c.guid, await git.locations.require(c)));
  });

  r.put(path, async (req, res) => {
    const c = await content.deployable(currentUser(req), String(req.params.guid));
    const b = parseInput(putBody, req.body);
    const l = await git.locations.set(actorOf(req), c, {
      repository: b.repository,
      branch: b.branch,
      directory: b.directory,
      polling: b.polling,
      previewBranches: b.preview_branches,
      credentials: b.credentials,
    });
    res.json(json(req, c.guid, l));
  });

  r.patch(path, async (req, res) => {
    const c = await content.deployable(currentUser(req), String(req.params.guid));
    const b = parseInput(patchBody, req.body ?? {});
    const patch = Object.fromEntries(
      Object.entries({
        repository: b.repository,
        branch: b.branch,
        directory: b.directory,
        polling: b.polling,
        previewBranches: b.preview_branches,
        credentials: b.credentials,
      }).filter(([, v]) => v !== undefined),
    );
    res.json(json(req, c.guid, await git.locations.update(actorOf(req), c, patch)));
  });

  r.delete(path, async (req, res) => {
    const c = await content.deployable(currentUser(req), String(req.params.guid));
    await git.locations.remove(actorOf(req), c);
    res.status(204).end();
  });

  // A bundle from the item's repository (or the one named), deployed as any upload is.
  r.post(`${path}/bundle`, async (req, res) => {
    const user = currentUser(req);
    const c = await content.deployTarget(user, String(req.params.guid));
    const b = parseInput(bundleBody, req.body ?? {});
    const made = await git.deployer.deploy(actorOf(req), user, c, { repository: b.repository, ref: b.ref, directory: b.directory, activate: true });
    res.json({ bundle_id: String(made.bundle.id), task_id: made.task.id, location: made.location });
  });

  // The webhook's secret is never shown by GET: this makes a new one and shows it once.
  r.post(`${path}/webhook-secret`, async (req, res) => {
    const c = await content.deployable(currentUser(req), String(req.params.guid));
    const secret = await git.locations.rotateSecret(actorOf(req), c);
    res.json({ secret, webhook_url: `${baseUrl(req, publicUrl)}/__api__/v1/content/${c.guid}/repository/webhook` });
  });
  return r;
}
