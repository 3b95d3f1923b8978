import { actorOf } from '../../http/actor.ts';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { asId } from '../../domain/ids.ts';
import type { BundleStore } from '../../services/bundles/bundle-store.ts';
import type { ContentService } from '../../services/content-service.ts';
import { baseUrl } from '../base-url.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { receiveBundle } from '../receive-bundle.ts';
import { appV0, bundleV0, contentUrls } from '../serializers/content-json.ts';
import { parseInput } from '../validate.ts';
import { appId } from './deploy-tasks.ts';

const listQuery = z.object({
  filter: z.union([z.string(), z.array(z.string())]).optional(),
  search: z.string().optional(),
  count: z.coerce.number().int().min(1).max(10_000).default(100),
  offset: z.coerce.number().int().min(0).optional(),
  start: z.coerce.number().int().min(0).optional(),
  cont: z.string().regex(/^\d*$/).optional(),
});

const createBody = z.object({ name: z.string(), title: z.string().max(1024).nullable().optional() }).loose();
const titleBody = z.object({ title: z.string().max(1024).nullable().optional(), description: z.string().optional() }).loose();

/** `filter=account_id:1&filter=name:x` (the value is not URL-encoded by R 0.8.29). */
function parseFilters(raw: string | string[] | undefined): { ownerId?: number; name?: string } {
  const out: { ownerId?: number; name?: string } = {};
  for (const f of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
    const i = f.indexOf(':');
    const key = f.slice(0, i);
    const value = f.slice(i + 1);
    if (key === 'account_id' && asId(value) !== undefined) out.ownerId = asId(value);
    else if (key === 'name' && i > 0) out.name = value;
    else throw AppError.badRequest(`The requested filter could not be applied: "${f}". Supported: account_id:<id>, name:<name>.`, 11);
  }
  return out;
}

/** The legacy "applications" API that rsconnect R 0.8.29 and old rsconnect-python speak (§3, §5.4). */
export function applicationsV0Routes(content: ContentService, store: BundleStore, publicUrl: string | undefined): Router {
  const r = Router();
  r.use('/applications', requireUser);
  const base = (req: Request) => baseUrl(req, publicUrl);

  r.get('/applications', async (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    const filters = parseFilters(q.filter);
    const offset = q.offset ?? q.start ?? (q.cont ? Number(q.cont) : 0);
    const user = currentUser(req);
    const { items, total } = await content.list(user, { ...filters, search: q.search, offset, limit: q.count });
    const next = offset + items.length;
    res.json({
      applications: (await content.withOwners(user, items)).map(({ content: c, owner, role }) => appV0(c, owner, role, base(req))),
      count: items.length,
      total,
      continuation: next < total ? String(next) : '',
    });
  });

  r.post('/applications', async (req, res) => {
    const b = parseInput(createBody, req.body);
    const user = currentUser(req);
    const c = await content.create(actorOf(req), user, { name: b.name, title: b.title ?? null });
    res.json(appV0(c, user, await content.roleOf(user, c), base(req)));
  });

  r.get('/applications/:id', async (req, res) => {
    const user = currentUser(req);
    const c = await content.visibleById(user, appId(req.params.id));
    const owner = await content.ownerOf(c);
    res.json(appV0(c, owner, await content.roleOf(user, c), base(req)));
  });

  r.post('/applications/:id', async (req, res) => {
    const user = currentUser(req);
    const c = await content.manageableById(user, appId(req.params.id));
    const b = parseInput(titleBody, req.body);
    const updated = await content.update(actorOf(req), user, c, { title: b.title, description: b.description });
    res.json(appV0(updated, await content.ownerOf(updated), await content.roleOf(user, updated), base(req)));
  });

  r.post('/applications/:id/upload', async (req, res) => {
    const user = currentUser(req);
    const c = await content.deployTargetById(user, appId(req.params.id));
    const upload = await receiveBundle(req, res, store.tmpDir, store.maxBytes);
    const b = await store.ingest(c, upload.path, upload.size, user.id, upload.metadata);
    res.json(bundleV0(b, c));
  });

  r.get('/applications/:id/config', async (req, res) => {
    const user = currentUser(req);
    const c = await content.visibleById(user, appId(req.params.id));
    const urls = contentUrls(base(req), c);
    res.json({ config_url: urls.dashboard, logs_url: `${urls.dashboard}/logs`, url: urls.content });
  });

  // Running processes arrive with the runtimes issue; until then there is nothing to stop.
  r.post('/applications/:id/terminate', async (req, res) => {
    await content.manageableById(currentUser(req), appId(req.params.id));
    res.json({});
  });
  return r;
}
