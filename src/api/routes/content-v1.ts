import { Router } from 'express';
import { z } from 'zod';
import { ACCESS_TYPES, CONTENT_SETTING_KEYS } from '../../domain/content.ts';
import type { Tag } from '../../domain/tags.ts';
import type { ContentLifecycle } from '../../services/content-lifecycle.ts';
import type { ContentService } from '../../services/content-service.ts';
import type { TagService } from '../../services/tag-service.ts';
import type { VariableService } from '../../services/variable-service.ts';
import { actorOf } from '../../http/actor.ts';
import { baseUrl } from '../base-url.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { contentV1 } from '../serializers/content-json.ts';
import { tagJson } from '../serializers/tag-json.ts';
import { parseInput } from '../validate.ts';

const seconds = z
  .number()
  .int()
  .min(0)
  .max(365 * 24 * 3600)
  .nullable();
const count = z.number().int().min(0).max(10_000).nullable();

// Connect's writable ContentItemV1 fields. Unknown fields are ignored, wrong types are a 400.
const contentFields = z
  .object({
    name: z.string(),
    title: z.string().max(1024).nullable(),
    description: z.string().max(65_536),
    access_type: z.enum(ACCESS_TYPES),
    connection_timeout: seconds,
    read_timeout: seconds,
    init_timeout: seconds,
    idle_timeout: seconds,
    max_processes: count,
    min_processes: count,
    max_conns_per_process: count,
    load_factor: z.number().min(0).max(1).nullable(),
    memory_request: z.number().int().min(0).nullable(),
    memory_limit: z.number().int().min(0).nullable(),
    cpu_request: z.number().min(0).nullable(),
    cpu_limit: z.number().min(0).nullable(),
    default_image_name: z.string().max(255).nullable(),
    run_as: z.string().max(64).nullable(),
    run_as_current_user: z.boolean(),
    default_r_environment_management: z.boolean().nullable(),
    default_py_environment_management: z.boolean().nullable(),
    // Written through ContentLifecycle, not as settings.
    owner_guid: z.string().max(64).nullable(),
    locked: z.boolean().nullable(),
    locked_message: z.string().nullable(),
  })
  .partial()
  .loose();

type ContentFields = z.infer<typeof contentFields>;

/** Maps API field names onto the service's changes. */
function toChanges(b: ContentFields) {
  const { name, title, description, access_type, owner_guid: _o, locked: _l, locked_message: _m, ...rest } = b;
  // Own keys only: `constructor` or `toString` in a body must not reach the database.
  const settings = Object.fromEntries(Object.entries(rest).filter(([k]) => (CONTENT_SETTING_KEYS as readonly string[]).includes(k)));
  return { name, title, description, accessType: access_type, ...settings };
}

const listQuery = z.object({
  name: z.string().optional(),
  owner_guid: z.string().optional(),
  include: z.string().optional(),
});

const includeQuery = z.object({ include: z.string().optional() }).loose();

/** The `include` options asked for (`include=owner,tags`). */
const includes = (include: string | undefined) => new Set((include ?? '').split(',').map((s) => s.trim()));

/**
 * `tags` only when the item has some: posit-sdk-py's test of a fresh item fetched with
 * `include=owner,tags,vanity_url` asserts the key is absent (connect-api-next.md §1.11).
 */
const withTags = <T extends object>(json: T, tags: Tag[] | undefined) => (tags?.length ? { ...json, tags: tags.map(tagJson) } : json);

const envBody = z.array(z.object({ name: z.string(), value: z.string().nullable() }).loose());

export function contentV1Routes(
  content: ContentService,
  lifecycle: ContentLifecycle,
  env: VariableService,
  tags: TagService,
  publicUrl: string | undefined,
): Router {
  const r = Router();
  r.use('/v1/content', requireUser);

  r.get('/v1/content', async (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    const user = currentUser(req);
    const { items } = await content.list(user, { name: q.name, ownerGuid: q.owner_guid, offset: 0, limit: 10_000 });
    const include = includes(q.include);
    const base = baseUrl(req, publicUrl);
    const tagsOf = include.has('tags') ? await tags.ofContents(items) : undefined;
    res.json(
      (await content.withOwners(user, items)).map(({ content: c, owner, role }) =>
        withTags(contentV1(c, owner, role, base, include.has('owner')), tagsOf?.get(c.id)),
      ),
    );
  });

  r.post('/v1/content', async (req, res) => {
    // Without `name`, ContentService makes one (from the title, else `content-xxxxxxxx`).
    const b = parseInput(contentFields, req.body);
    const user = currentUser(req);
    const { name, title, description, accessType, ...settings } = toChanges(b);
    const c = await content.create(actorOf(req), user, { name, title, description, accessType, settings });
    res.status(201).json(contentV1(c, user, await content.roleOf(user, c), baseUrl(req, publicUrl)));
  });

  r.get('/v1/content/:guid', async (req, res) => {
    const user = currentUser(req);
    const c = await content.visible(user, String(req.params.guid));
    const owner = await content.ownerOf(c);
    const include = includes(parseInput(includeQuery, req.query, 'query').include);
    const tagsOf = include.has('tags') ? await tags.ofContents([c]) : undefined;
    res.json(withTags(contentV1(c, owner, await content.roleOf(user, c), baseUrl(req, publicUrl)), tagsOf?.get(c.id)));
  });

  r.patch('/v1/content/:guid', async (req, res) => {
    const user = currentUser(req);
    const c = await content.manageable(user, String(req.params.guid));
    const b = parseInput(contentFields, req.body);
    // Owner and lock are checked before anything is written, then written with the rest.
    const lifecycleChanges = await lifecycle.plan(user, c, { ownerGuid: b.owner_guid, locked: b.locked, lockedMessage: b.locked_message });
    const updated = await content.update(actorOf(req), user, c, { ...toChanges(b), ...lifecycleChanges });
    await lifecycle.settle(actorOf(req), c, updated);
    const owner = await content.ownerOf(updated);
    res.json(contentV1(updated, owner, await content.roleOf(user, updated), baseUrl(req, publicUrl)));
  });

  r.delete('/v1/content/:guid', async (req, res) => {
    const user = currentUser(req);
    await content.delete(actorOf(req), user, await content.manageable(user, String(req.params.guid)));
    res.json({});
  });

  r.get('/v1/content/:guid/environment', async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    res.json(await env.names(c));
  });

  for (const method of ['put', 'patch'] as const) {
    r[method]('/v1/content/:guid/environment', async (req, res) => {
      const c = await content.manageable(currentUser(req), String(req.params.guid));
      const vars = parseInput(envBody, req.body);
      res.json(
        await env.apply(
          actorOf(req),
          c,
          vars.map((v) => ({ name: v.name, value: v.value })),
          method === 'put',
        ),
      );
    });
  }
  return r;
}
