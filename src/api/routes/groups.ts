import { Router } from 'express';
import { z } from 'zod';
import type { Group } from '../../domain/content.ts';
import type { GroupService } from '../../services/group-service.ts';
import { actorOf } from '../../http/actor.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { userV1 } from '../serializers/user-json.ts';
import { parseInput } from '../validate.ts';

const listQuery = z.object({
  page_number: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(500).default(20),
  prefix: z.string().max(128).optional(),
});

const createBody = z.object({ name: z.string() }).loose();
const memberBody = z.object({ user_guid: z.string().max(64) }).loose();

/** Connect's v1 GroupRecord. */
function groupV1(g: Group) {
  return { guid: g.guid, name: g.name, owner_guid: g.ownerGuid };
}

/** Connect's v1 groups API: names for everyone logged in, changes for owners and administrators. */
export function groupRoutes(groups: GroupService): Router {
  const r = Router();
  r.use('/v1/groups', requireUser);

  r.get('/v1/groups', async (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    const { groups: list, total } = await groups.list({ prefix: q.prefix, offset: (q.page_number - 1) * q.page_size, limit: q.page_size });
    res.json({ results: list.map(groupV1), current_page: q.page_number, total });
  });

  r.post('/v1/groups', async (req, res) => {
    const b = parseInput(createBody, req.body);
    res.status(201).json(groupV1(await groups.create(actorOf(req), currentUser(req), b.name)));
  });

  r.get('/v1/groups/:guid', async (req, res) => {
    res.json(groupV1(await groups.byGuid(String(req.params.guid))));
  });

  r.delete('/v1/groups/:guid', async (req, res) => {
    const g = await groups.byGuid(String(req.params.guid));
    await groups.delete(actorOf(req), currentUser(req), g);
    res.json({});
  });

  r.get('/v1/groups/:guid/members', async (req, res) => {
    const g = await groups.byGuid(String(req.params.guid));
    const members = await groups.members(currentUser(req), g);
    res.json({ results: members.map(userV1), total: members.length });
  });

  r.post('/v1/groups/:guid/members', async (req, res) => {
    const g = await groups.byGuid(String(req.params.guid));
    const b = parseInput(memberBody, req.body);
    await groups.addMember(actorOf(req), currentUser(req), g, b.user_guid);
    res.json({});
  });

  r.delete('/v1/groups/:guid/members/:userGuid', async (req, res) => {
    const g = await groups.byGuid(String(req.params.guid));
    await groups.removeMember(actorOf(req), currentUser(req), g, String(req.params.userGuid));
    res.json({});
  });
  return r;
}
