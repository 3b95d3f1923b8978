import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { RuntimeImage } from '../../domain/runtime-images.ts';
import { requireRole } from '../middleware/require-role.ts';
import { iso } from '../serializers/iso.ts';

/** A stable GUID for an image name: the same after a restart, whatever the list's order. */
function guidOf(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const installations = (path: string, version: string | null) => ({ installations: version ? [{ path, version }] : [] });

/**
 * Connect's execution environments (`GET /v1/environments`): the runtime images content may
 * pin with `default_image_name` or the manifest's `environment.image`. Empty with local
 * processes, which have no images. Publishers and administrators read it, as on Connect.
 */
export function runtimeImageRoutes(list: () => Promise<RuntimeImage[]>): Router {
  const r = Router();
  r.get('/v1/environments', requireRole('publisher', 'administrator'), async (_req, res) => {
    const images = await list();
    res.json(
      images.map((i) => ({
        id: guidOf(i.name),
        guid: guidOf(i.name),
        created_time: iso(i.created),
        updated_time: iso(i.created),
        title: i.name,
        description: [i.r && `R ${i.r}`, i.python && `Python ${i.python}`, i.quarto && `Quarto ${i.quarto}`].filter(Boolean).join(', '),
        cluster_name: 'Docker',
        name: i.name,
        environment_type: 'Docker',
        matching: 'any',
        supervisor: null,
        python: installations('/usr/bin/python3', i.python),
        r: installations('/usr/bin/R', i.r),
        quarto: installations('quarto', i.quarto),
        tensorflow: installations('', null),
      })),
    );
  });
  return r;
}
