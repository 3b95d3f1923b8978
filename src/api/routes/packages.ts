import { Router } from 'express';
import { z } from 'zod';
import type { PackageService } from '../../services/package-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { packageV1 } from '../serializers/package-json.ts';
import { parseInput } from '../validate.ts';

// Clients ask for everything at once (posit-sdk-py page_size=1000000, connectapi 100000): any
// size is accepted and a page holds at most this many; both clients then ask for the next page.
const MAX_PAGE_SIZE = 10_000;

const bool = z.enum(['true', 'false', '1', '0', 'TRUE', 'FALSE', 'True', 'False']).transform((v) => v.toLowerCase() === 'true' || v === '1');

// Unknown parameters are ignored: clients pass on what they are given.
const listQuery = z
  .object({
    name: z.string().min(1).max(255).optional(),
    page_number: z.coerce.number().int().min(1).max(1_000_000).default(1),
    page_size: z.coerce.number().int().min(1).default(100),
    asc_order: bool.default(true),
  })
  .loose();

/**
 * What content runs with (connect-api-next.md §9.5, §9.6): `GET /v1/packages` (an offset page
 * of exactly `current_page`, `total`, `results`: posit-sdk-py builds its Page from those three
 * alone), an item's `packages` (204 when nothing is deployed) and its Python `lockfile`.
 */
export function packageRoutes(packages: PackageService): Router {
  const r = Router();

  r.get('/v1/packages', requireUser, async (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    const pageSize = Math.min(q.page_size, MAX_PAGE_SIZE);
    const found = await packages.page(currentUser(req), {
      ...(q.name !== undefined ? { name: q.name } : {}),
      pageNumber: q.page_number,
      pageSize,
      ascending: q.asc_order,
    });
    res.json({ current_page: q.page_number, total: found.total, results: found.rows.map(packageV1) });
  });

  r.get('/v1/content/:guid/packages', requireUser, async (req, res) => {
    const list = await packages.ofContent(currentUser(req), String(req.params.guid));
    if (list === null) {
      res.status(204).end();
      return;
    }
    res.json(list.map((p) => ({ language: p.language, name: p.name, version: p.version, hash: p.hash })));
  });

  r.get('/v1/content/:guid/lockfile', requireUser, async (req, res) => {
    const lock = await packages.lockfile(currentUser(req), String(req.params.guid));
    // posit-sdk-py reads the version from this header: `python=(\d+\.\d+\.\d+)`.
    res.set('Generated-By', `connect; python=${lock.pythonVersion}`);
    res.type('text/plain; charset=utf-8').send(lock.text);
  });

  return r;
}
