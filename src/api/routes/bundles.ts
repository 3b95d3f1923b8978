import { createReadStream } from 'node:fs';
import { Router } from 'express';
import type { ContentEvents } from '../../domain/deploy.ts';
import { AppError } from '../../domain/errors.ts';
import { asId } from '../../domain/ids.ts';
import type { BundleRepo } from '../../repositories/bundle-repo.ts';
import type { BundleStore } from '../../services/bundles/bundle-store.ts';
import type { ContentService } from '../../services/content-service.ts';
import type { TaskService } from '../../services/tasks/task-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { receiveBundle } from '../receive-bundle.ts';
import { bundleV1 } from '../serializers/content-json.ts';

function bundleId(raw: unknown): number {
  const id = asId(raw);
  if (id === undefined) throw AppError.notFound('The requested bundle does not exist.');
  return id;
}

export function bundleRoutes(content: ContentService, bundles: BundleRepo, store: BundleStore, tasks: TaskService, events: ContentEvents): Router {
  const r = Router();
  r.use('/v1/content/:guid/bundles', requireUser);

  r.post('/v1/content/:guid/bundles', async (req, res) => {
    const user = currentUser(req);
    const c = await content.manageable(user, String(req.params.guid));
    const upload = await receiveBundle(req, res, store.tmpDir, store.maxBytes);
    const b = await store.ingest(c, upload.path, upload.size, user.id, upload.metadata);
    res.status(201).json(bundleV1(b, c));
  });

  r.get('/v1/content/:guid/bundles', async (req, res) => {
    const c = await content.manageable(currentUser(req), String(req.params.guid));
    res.json((await bundles.listForContent(c.id)).map((b) => bundleV1(b, c)));
  });

  const find = async (user: Express.User, guid: string, id: unknown) => {
    const c = await content.manageable(user, guid);
    const b = await bundles.byId(c.id, bundleId(id));
    if (!b) throw AppError.notFound('The requested bundle does not exist.');
    return { c, b };
  };

  r.get('/v1/content/:guid/bundles/:id', async (req, res) => {
    const { c, b } = await find(currentUser(req), String(req.params.guid), req.params.id);
    res.json(bundleV1(b, c));
  });

  r.get('/v1/content/:guid/bundles/:id/download', async (req, res) => {
    const { c, b } = await find(currentUser(req), String(req.params.guid), req.params.id);
    res.set({ 'Content-Type': 'application/gzip', 'Content-Length': String(b.size), 'Content-Disposition': `attachment; filename="bundle-${b.id}.tar.gz"` });
    createReadStream(store.archivePath(c.guid, b.id)).on('error', (err) => res.destroy(err)).pipe(res);
  });

  r.delete('/v1/content/:guid/bundles/:id', async (req, res) => {
    const { c, b } = await find(currentUser(req), String(req.params.guid), req.params.id);
    if (c.bundleId === b.id) throw AppError.conflict('This bundle is active: activate another one before deleting it.', 25);
    if (await tasks.busy(b.id)) throw AppError.conflict('A deploy of this bundle is running: wait for it to finish.', 25);
    await store.remove(c, b);
    events.bundleDeleted(c.guid, b.id);
    res.json({});
  });
  return r;
}
