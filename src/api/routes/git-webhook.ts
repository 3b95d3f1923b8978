import express, { Router } from 'express';
import { actorOf } from '../../http/actor.ts';
import type { GitWebhooks } from '../../services/git/git-webhooks.ts';

// GitHub caps a push payload at 25 MB, but the commits listed are all Lectern reads past `ref`;
// a push of many commits stays well under this.
const WEBHOOK_MAX_BYTES = '2mb';

/**
 * `POST /v1/content/{guid}/repository/webhook`: no key or session, only the item's secret
 * (GitHub's `X-Hub-Signature-256` or GitLab's `X-Gitlab-Token`). Mounted before the API's JSON
 * parser, because the signature is over the exact bytes sent.
 */
export function gitWebhookRoutes(webhooks: GitWebhooks): Router {
  const r = Router();
  const raw = express.raw({ type: () => true, limit: WEBHOOK_MAX_BYTES });
  r.post('/v1/content/:guid/repository/webhook', raw, async (req, res) => {
    const answer = await webhooks.receive(actorOf(req), String(req.params.guid), {
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      hubSignature256: req.get('x-hub-signature-256'),
      gitlabToken: req.get('x-gitlab-token'),
      event: req.get('x-github-event') ?? req.get('x-gitlab-event'),
    });
    res.status(answer.status).json(answer.body);
  });
  return r;
}
