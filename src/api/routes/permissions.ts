import { Router } from 'express';
import { z } from 'zod';
import { PERMISSION_ROLES, PRINCIPAL_TYPES } from '../../domain/content.ts';
import type { ContentPermissions } from '../../services/content-permissions.ts';
import type { ContentService } from '../../services/content-service.ts';
import { actorOf } from '../../http/actor.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { permissionV1 } from '../serializers/content-json.ts';
import { parseInput } from '../validate.ts';

const fields = {
  principal_guid: z.string().max(64),
  principal_type: z.enum(PRINCIPAL_TYPES),
  role: z.enum(PERMISSION_ROLES),
};
const createBody = z.object(fields).loose();
// Connect's clients send the whole record back; any part of it may change.
const updateBody = z.object(fields).partial().loose();

/**
 * Connect's v1 content permissions: who besides the owner may see (role "viewer") or change
 * (role "owner": a collaborator) a content item. For the people who manage the item; others
 * get 404 when they cannot see it and 403 when they only see it.
 */
export function permissionRoutes(content: ContentService, access: ContentPermissions): Router {
  const r = Router();
  const path = '/v1/content/:guid/permissions';
  r.use(path, requireUser);

  const manageable = (req: Parameters<typeof currentUser>[0]) => content.manageable(currentUser(req), String(req.params.guid));

  r.get(path, async (req, res) => {
    const c = await manageable(req);
    res.json((await access.list(currentUser(req), c)).map((p) => permissionV1(p, c)));
  });

  r.post(path, async (req, res) => {
    const c = await manageable(req);
    const b = parseInput(createBody, req.body);
    const p = await access.grant(actorOf(req), currentUser(req), c, { principalGuid: b.principal_guid, principalType: b.principal_type, role: b.role });
    res.status(201).json(permissionV1(p, c));
  });

  r.get(`${path}/:id`, async (req, res) => {
    const c = await manageable(req);
    res.json(permissionV1(await access.get(currentUser(req), c, req.params.id), c));
  });

  r.put(`${path}/:id`, async (req, res) => {
    const c = await manageable(req);
    const b = parseInput(updateBody, req.body);
    const p = await access.change(actorOf(req), currentUser(req), c, req.params.id, {
      principalGuid: b.principal_guid,
      principalType: b.principal_type,
      role: b.role,
    });
    res.json(permissionV1(p, c));
  });

  r.delete(`${path}/:id`, async (req, res) => {
    const c = await manageable(req);
    await access.revoke(actorOf(req), currentUser(req), c, req.params.id);
    res.json({});
  });
  return r;
}
