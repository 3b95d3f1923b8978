import { Router } from 'express';
import { z } from 'zod';
import { actorOf } from '../../http/actor.ts';
import type { ContentService } from '../../services/content-service.ts';
import type { TagInput, TagService } from '../../services/tag-service.ts';
import { baseUrl } from '../base-url.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { contentV1 } from '../serializers/content-json.ts';
import { tagJson } from '../serializers/tag-json.ts';
import { parseInput } from '../validate.ts';

// Clients send ids as strings (connectapi coerces numbers to strings); a number is taken too.
const tagId = z.union([z.string(), z.number()]);
const tagBody = z.object({ name: z.string().optional(), parent_id: tagId.nullable().optional() }).loose();
const listQuery = z.object({ name: z.string().optional(), parent_id: z.string().optional() }).loose();
const contentTagBody = z.object({ tag_id: tagId }).loose();

function toInput(b: z.infer<typeof tagBody>): TagInput {
  return { name: b.name, parentId: b.parent_id };
}

/** Connect's tag endpoints (connect-api-next.md §1): the tree, and the tags on content. */
export function tagRoutes(tags: TagService, content: ContentService, publicUrl: string | undefined): Router {
  const r = Router();
  r.use(['/v1/tags', '/v1/content/:guid/tags'], requireUser);

  r.get('/v1/tags', async (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    res.json((await tags.list({ name: q.name, parentId: q.parent_id })).map(tagJson));
  });

  r.post('/v1/tags', async (req, res) => {
    res.json(tagJson(await tags.create(actorOf(req), currentUser(req), toInput(parseInput(tagBody, req.body ?? {})))));
  });

  r.get('/v1/tags/:id', async (req, res) => {
    res.json(tagJson(await tags.get(req.params.id)));
  });

  r.patch('/v1/tags/:id', async (req, res) => {
    res.json(tagJson(await tags.update(actorOf(req), currentUser(req), req.params.id, toInput(parseInput(tagBody, req.body ?? {})))));
  });

  r.delete('/v1/tags/:id', async (req, res) => {
    await tags.delete(actorOf(req), currentUser(req), req.params.id);
    res.status(204).end();
  });

  r.get('/v1/tags/:id/content', async (req, res) => {
    const user = currentUser(req);
    const items = await tags.taggedContent(user, req.params.id);
    const base = baseUrl(req, publicUrl);
    res.json((await content.withOwners(user, items)).map(({ content: c, owner, role }) => contentV1(c, owner, role, base)));
  });

  r.get('/v1/content/:guid/tags', async (req, res) => {
    res.json((await tags.ofContent(currentUser(req), String(req.params.guid))).map(tagJson));
  });

  r.post('/v1/content/:guid/tags', async (req, res) => {
    const b = parseInput(contentTagBody, req.body ?? {});
    res.json(tagJson(await tags.attach(actorOf(req), currentUser(req), String(req.params.guid), b.tag_id)));
  });

  r.delete('/v1/content/:guid/tags/:id', async (req, res) => {
    await tags.detach(actorOf(req), currentUser(req), String(req.params.guid), req.params.id);
    res.json({});
  });
  return r;
}
