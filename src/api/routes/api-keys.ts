import { Router } from 'express';
import { z } from 'zod';
import type { ApiKeyService } from '../../services/api-key-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { apiKeyJson } from '../serializers/user-json.ts';
import { parseInput } from '../validate.ts';
import { actorOf } from '../actor.ts';

const createBody = z.object({ name: z.string().min(1).max(128) }).loose();

/** The caller's own API keys. The secret appears once, in the answer to its creation. */
export function apiKeyRoutes(keys: ApiKeyService): Router {
  const r = Router();
  r.use('/v1/user/api_keys', requireUser);

  r.get('/v1/user/api_keys', async (req, res) => {
    res.json((await keys.list(currentUser(req))).map(apiKeyJson));
  });

  r.post('/v1/user/api_keys', async (req, res) => {
    const b = parseInput(createBody, req.body);
    const { key, secret } = await keys.create(actorOf(req), currentUser(req), b.name);
    res.status(201).json({ ...apiKeyJson(key), key: secret });
  });

  r.delete('/v1/user/api_keys/:id', async (req, res) => {
    await keys.delete(actorOf(req), currentUser(req), String(req.params.id));
    // JSON, not 204: Connect clients treat an empty 2xx as an error (connect-api.md §2.4).
    res.json({});
  });
  return r;
}
