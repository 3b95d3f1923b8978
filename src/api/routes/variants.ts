import { Router, type Request } from 'express';
import { z } from 'zod';
import { asId } from '../../domain/ids.ts';
import { actorOf } from '../../http/actor.ts';
import type { ReportServices } from '../../services/reports/index.ts';
import type { VariantOf } from '../../services/reports/variant-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { taskV1 } from '../serializers/content-json.ts';
import { renderingJson, renderTaskJson, variantJson } from '../serializers/report-json.ts';
import { userV1 } from '../serializers/user-json.ts';
import { parseInput } from '../validate.ts';

// Saved parameter values go to every render's command input: capped however they arrive.
const parameters = z.record(z.string(), z.unknown()).refine((p) => JSON.stringify(p).length <= 64 * 1024, 'must be at most 64 KB of JSON');

// Clients send back whole records (connectapi) or `{"key":"value"}`: unknown keys are ignored.
const updateBody = z
  .object({
    name: z.string().trim().min(1).max(255),
    visibility: z.enum(['public', 'private']),
    email_collaborators: z.boolean(),
    email_viewers: z.boolean(),
    email_all: z.boolean(),
    parameters: parameters.nullable(),
  })
  .partial()
  .loose();

const createBody = z.object({
  name: z.string().trim().min(1).max(255),
  parameters,
  visibility: z.enum(['public', 'private']).default('private'),
});

const senderQuery = z.object({
  email: z.enum(['me', 'collaborators', 'collaborators_viewers']).optional(),
  rendering_id: z
    .string()
    .refine((s) => asId(s) !== undefined, 'must be an integer id')
    .transform((s) => asId(s)!)
    .optional(),
});

const renderBody = z.object({ variant_key: z.string().max(16).nullable().optional() }).loose();

// connectapi sends one guid as a bare JSON string, several as an array (§4.3).
const subscribeBody = z.union([
  z
    .string()
    .min(1)
    .max(64)
    .transform((g) => [g]),
  z.array(z.string().min(1).max(64)).min(1).max(1000),
]);

/**
 * Variants of rendered content, their renders and subscribers (connect-api-next.md §3.1–§3.5,
 * §4.3): unversioned, as the clients call them; ids are integers.
 */
export function variantRoutes(reports: ReportServices): Router {
  const r = Router();
  const { variants, renders, subscriptions } = reports;
  r.use(['/applications/:guid/variants', '/variants'], requireUser);

  const describe = async ({ content, variant }: VariantOf) => variantJson(variant, await renders.rendering(variant.renderingId), content.bundleId);

  r.get('/applications/:guid/variants', async (req, res) => {
    const list = await variants.list(currentUser(req), String(req.params.guid));
    res.json(await Promise.all(list.map(describe)));
  });

  // Lectern's own: a saved variant of a parameterized report (no client can make one, §5).
  r.post('/applications/:guid/variants', async (req, res) => {
    const b = parseInput(createBody, req.body);
    const made = await variants.create(actorOf(req), currentUser(req), String(req.params.guid), {
      name: b.name,
      params: b.parameters,
      visibility: b.visibility,
    });
    res.json(await describe(made));
  });

  r.get('/variants/:id', async (req, res) => {
    res.json(await describe(await variants.visible(currentUser(req), req.params.id)));
  });

  r.post('/variants/:id', async (req, res) => {
    const b = parseInput(updateBody, req.body ?? {});
    const user = currentUser(req);
    await variants.update(actorOf(req), user, req.params.id, {
      name: b.name,
      visibility: b.visibility,
      emailCollaborators: b.email_collaborators,
      emailViewers: b.email_viewers,
      emailAll: b.email_all,
      params: b.parameters,
    });
    res.json(await describe(await variants.visible(user, req.params.id)));
  });

  r.delete('/variants/:id', async (req, res) => {
    await variants.remove(actorOf(req), currentUser(req), req.params.id);
    res.status(204).end();
  });

  // Body: none, `{}`, or older connectapi's `{"email":"none","activate":true}`; on-demand renders never email.
  r.post('/variants/:id/render', async (req: Request, res) => {
    const user = currentUser(req);
    const task = await renders.requestRender(actorOf(req), user, await variants.manageable(user, req.params.id));
    res.json(renderTaskJson(task));
  });

  // Connect 2025's v1 render (§3.9): 202 and a task id; the default variant unless a key is given.
  r.post('/v1/content/:guid/render', requireUser, async (req, res) => {
    const b = parseInput(renderBody, req.body ?? {});
    const user = currentUser(req);
    const task = await renders.requestRender(actorOf(req), user, await variants.toRender(user, String(req.params.guid), b.variant_key ?? null));
    res.status(202).json({ task_id: task.id });
  });

  r.get('/variants/:id/renderings', async (req, res) => {
    const { variant } = await variants.visible(currentUser(req), req.params.id);
    res.json((await renders.history(variant.id)).map((x) => renderingJson(x, variant.renderingId)));
  });

  // On-demand email of a rendering (§4.4): queued to the outbox; the answer is a finished task (v1 shape).
  r.post('/variants/:id/sender', async (req, res) => {
    const q = parseInput(senderQuery, req.query, 'query');
    // Older connectapi sent `{"email": to}` as the body instead.
    const body = typeof req.body === 'object' && req.body !== null ? (req.body as { email?: unknown }) : {};
    const who = q.email ?? parseInput(senderQuery.shape.email, body.email ?? 'me', 'body');
    const user = currentUser(req);
    const of = await variants.visible(user, req.params.id);
    const { task, output } = await reports.mailer.send(user, of, who ?? 'me', q.rendering_id ?? null, await variants.mayChange(user, of));
    res.json(taskV1(task, output, output.length));
  });

  r.get('/variants/:id/subscribers', async (req, res) => {
    res.json((await subscriptions.list(currentUser(req), req.params.id)).map(userV1));
  });

  r.post('/variants/:id/subscribers', async (req, res) => {
    const guids = parseInput(subscribeBody, req.body);
    await subscriptions.subscribe(actorOf(req), currentUser(req), req.params.id, guids);
    res.json((await subscriptions.list(currentUser(req), req.params.id)).map(userV1));
  });

  r.delete('/variants/:id/subscribers/:guid', async (req, res) => {
    await subscriptions.unsubscribe(actorOf(req), currentUser(req), req.params.id, String(req.params.guid));
    res.status(204).end();
  });
  return r;
}
