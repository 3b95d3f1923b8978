import { actorOf } from '../../http/actor.ts';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Task } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { asId } from '../../domain/ids.ts';
import type { ContentService } from '../../services/content-service.ts';
import type { DeployService } from '../../services/deploy-service.ts';
import type { GitServices } from '../../services/git/index.ts';
import type { TaskService } from '../../services/tasks/task-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { taskV0, taskV1 } from '../serializers/content-json.ts';
import { parseInput } from '../validate.ts';

// A bundle id arrives as "3" (Python, R 1.x), 3 (R 0.8.29), null, or R's empty vector [].
const bundleRef = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+$/, 'must be a bundle id').transform(Number),
  z.null(),
  z
    .array(z.never())
    .max(0)
    .transform(() => null),
]);

const v1Body = z.object({ bundle_id: bundleRef.optional(), activate: z.boolean().optional() }).loose();
const v0Body = z.object({ bundle: bundleRef.optional() }).loose();

const index = z.coerce.number().int().min(0);
const v1Query = z.object({ first: index.default(0), wait: z.coerce.number().min(0).default(0) });
const v0Query = z.object({ first_status: index.default(0) });

/** Empty bodies, `{}` and `[]` all mean "the current bundle". */
function bodyOf(req: Request): unknown {
  const b: unknown = req.body;
  if (b === undefined || (Array.isArray(b) && b.length === 0)) return {};
  return b;
}

export function deployAndTaskRoutes(content: ContentService, deploys: DeployService, tasks: TaskService, git: GitServices): Router {
  const r = Router();

  r.post('/v1/content/:guid/deploy', requireUser, async (req, res) => {
    const user = currentUser(req);
    const c = await content.deployTarget(user, String(req.params.guid));
    const b = parseInput(v1Body, bodyOf(req));
    // `rsconnect deploy git`: PUT the repository, then deploy "the current bundle" of an item
    // that has none yet. Its first bundle comes from the repository.
    if ((b.bundle_id ?? null) === null && c.bundleId === null && (await git.locations.get(c))) {
      const made = await git.deployer.deploy(actorOf(req), user, c, { activate: b.activate ?? true });
      res.status(202).json({ task_id: made.task.id });
      return;
    }
    const task = await deploys.deploy(actorOf(req), user, c, b.bundle_id ?? null, b.activate ?? true);
    res.status(202).json({ task_id: task.id });
  });

  r.post('/applications/:id/deploy', requireUser, async (req, res) => {
    const user = currentUser(req);
    const c = await content.deployTargetById(user, appId(req.params.id));
    const b = parseInput(v0Body, bodyOf(req));
    const task = await deploys.deploy(actorOf(req), user, c, b.bundle ?? null, true);
    res.json({ task_id: task.id, id: task.id });
  });

  /** A task is its starter's, and visible to whoever may change its content. */
  const readable = async (req: Request): Promise<Task> => {
    const user = currentUser(req);
    const task = await tasks.get(String(req.params.id));
    // A failed lookup of its content reads as "not yours", never as an error.
    if (await content.readsTask(user, task.userId, task.contentId).catch(() => false)) return task;
    throw AppError.notFound('The requested task does not exist.');
  };

  r.get('/v1/tasks/:id', requireUser, async (req, res) => {
    const task = await readable(req);
    const q = parseInput(v1Query, req.query, 'query');
    const page = await tasks.read(task.id, q.first, q.wait);
    res.json(taskV1(page.task, page.lines, page.last));
  });

  r.get('/tasks/:id', requireUser, async (req, res) => {
    const task = await readable(req);
    const q = parseInput(v0Query, req.query, 'query');
    const page = await tasks.read(task.id, q.first_status, 0);
    res.json(taskV0(page.task, page.lines, page.last));
  });

  r.get('/tasks', requireUser, async (req, res) => {
    const list = await tasks.listForUser(currentUser(req).id);
    res.json(
      list.map((t) => ({ id: t.id, user_id: t.userId, finished: t.finished, code: t.code, error: t.error, app_id: t.contentId, bundle_id: t.bundleId })),
    );
  });
  return r;
}

export function appId(raw: unknown): number {
  const id = asId(raw);
  if (id === undefined) throw AppError.notFound('The requested content does not exist.');
  return id;
}
