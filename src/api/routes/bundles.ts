import { actorOf } from '../../http/actor.ts';
import { createReadStream } from 'node:fs';
import { Router } from 'express';
import type { BundleService } from '../../services/bundles/bundle-service.ts';
import type { BundleStore } from '../../services/bundles/bundle-store.ts';
import type { ContentService } from '../../services/content-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { receiveBundle } from '../receive-bundle.ts';
import { bundleV1 } from '../serializers/content-json.ts';

export function bundleRoutes(content: ContentService, bundles: BundleService, store: BundleStore): Router {
  const r = Router();
  r.use('/v1/content/:guid/bundles', requireUser);

  r.post('/v1/content/:guid/bundles', async (req, res) => {
    const user = currentUser(req);
    // A locked item is refused before its upload is read.
    const c = await content.deployTarget(user, String(req.params.guid));
    const upload = await receiveBundle(req, res, store.tmpDir, store.maxBytes);
    const b = await store.ingest(c, upload.path, upload.size, user.id, upload.metadata);
    res.status(201).json(bundleV1(b, c));
  });

  r.get('/v1/content/:guid/bundles', async (req, res) => {
    const { content: c, bundles: list } = await bundles.list(currentUser(req), String(req.params.guid));
    res.json(list.map((b) => bundleV1(b, c)));
  });

  r.get('/v1/content/:guid/bundles/:id', async (req, res) => {
    const { content: c, bundle: b } = await bundles.find(currentUser(req), String(req.params.guid), req.params.id);
    res.json(bundleV1(b, c));
  });

  r.get('/v1/content/:guid/bundles/:id/download', async (req, res) => {
    const { content: c, bundle: b } = await bundles.find(currentUser(req), String(req.params.guid), req.params.id);
    res.set({ 'Content-Type': 'application/gzip', 'Content-Length': String(b.size), 'Content-Disposition': `attachment; filename="bundle-${b.id}.tar.gz"` });
    createReadStream(store.archivePath(c.guid, b.id))
      .on('error', (err) => res.destroy(err))
      .pipe(res);
  });

  r.delete('/v1/content/:guid/bundles/:id', async (req, res) => {
    await bundles.delete(actorOf(req), currentUser(req), String(req.params.guid), req.params.id);
    res.json({});
  });
  return r;
}
