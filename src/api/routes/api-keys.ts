import { Router } from 'express';
import { z } from 'zod';
import type { ApiKeyService } from '../../services/api-key-service.ts';
import { currentUser, requireSession, requireUser } from '../middleware/require-role.ts';
import { apiKeyJson } from '../serializers/user-json.ts';
import { parseInput } from '../validate.ts';
import { actorOf } from '../../http/actor.ts';

const createBody = z
  .object({
    name: z.string().min(1).max(128),
    // ISO 8601 with a zone (`Z` or an offset), like every time Lectern answers with.
    expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .loose();

/** The caller's own API keys. The secret appears once, in the answer to its creation. */
export function apiKeyRoutes(keys: ApiKeyService): Router {
  const r = Router();
  r.use('/v1/user/api_keys', requireUser);

  r.get('/v1/user/api_keys', async (req, res) => {
    res.json((await keys.list(currentUser(req))).map(apiKeyJson));
  });

  // A key never makes another: a leaked key (or a content process's) could otherwise outlive
  // its own revocation. Keys come from a browser session or the CLI.
  r.post(
    '/v1/user/api_keys',
    requireSession('API keys are created from a browser session (the home page) or with `lectern keys create`, never with another API key.'),
    async (req, res) => {
      const b = parseInput(createBody, req.body);
      const expiresAt = b.expires_at ? new Date(b.expires_at) : null;
      const { key, secret } = await keys.create(actorOf(req), currentUser(req), b.name, { expiresAt });
      res.status(201).json({ ...apiKeyJson(key), key: secret });
    },
  );

  r.delete('/v1/user/api_keys/:id', async (req, res) => {
    await keys.delete(actorOf(req), currentUser(req), String(req.params.id));
    // JSON, not 204: Connect clients treat an empty 2xx as an error (connect-api.md §2.4).
    res.json({});
  });
  return r;
}
