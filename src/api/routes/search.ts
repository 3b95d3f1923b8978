import { Router } from 'express';
import { z } from 'zod';
import type { ContentSearchService } from '../../services/content-search-service.ts';
import { MAX_PAGE_SIZE, SEARCH_SORTS } from '../../services/content-search-service.ts';
import { baseUrl } from '../base-url.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { contentV1 } from '../serializers/content-json.ts';
import { parseInput } from '../validate.ts';

// Clients forward parameters they do not know (connectapi's `...`): unknown keys are ignored.
const searchQuery = z
  .object({
    q: z.string().max(4096).optional(),
    page_number: z.coerce.number().int().min(1).max(1_000_000).default(1),
    page_size: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
    include: z.string().max(256).optional(),
    sort: z
      .enum(['name', 'title', 'created_time', 'last_deployed_time', 'updated', 'created'])
      .optional()
      .transform((s) => (s === 'last_deployed_time' ? 'updated' : s === 'created_time' ? 'created' : s)),
    order: z.enum(['asc', 'desc']).optional(),
  })
  .loose();

/** `GET /v1/search/content` (connect-api-next.md §6.1): the catalog's search as JSON. */
export function searchRoutes(search: ContentSearchService, publicUrl: string | undefined): Router {
  const r = Router();
  r.get('/v1/search/content', requireUser, async (req, res) => {
    const q = parseInput(searchQuery, req.query, 'query');
    const sort = q.sort && (SEARCH_SORTS as readonly string[]).includes(q.sort) ? (q.sort as (typeof SEARCH_SORTS)[number]) : 'updated';
    const found = await search.search(currentUser(req), {
      q: q.q ?? '',
      sort,
      order: q.order ?? (sort === 'updated' || sort === 'created' ? 'desc' : 'asc'),
      page: q.page_number,
      pageSize: q.page_size,
    });
    const includeOwner = (q.include ?? '').split(',').includes('owner');
    const base = baseUrl(req, publicUrl);
    res.json({
      total: found.total,
      current_page: found.page,
      results: found.items.map(({ content, owner, role }) => contentV1(content, owner, role, base, includeOwner)),
      // "omitted when there are no warnings"
      ...(found.warnings.length ? { warnings: found.warnings } : {}),
    });
  });
  return r;
}
