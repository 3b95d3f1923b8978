import type { Request } from 'express';
import { z } from 'zod';
import { asId } from '../domain/ids.ts';
import { baseUrl } from './base-url.ts';
import { parseInput } from './validate.ts';

/** What one page of a keyset listing asks the store for: by id, beyond an id, one more than shown. */
export interface KeysetFetch {
  order: 'asc' | 'desc';
  afterId?: number;
  beforeId?: number;
  limit: number;
}

interface KeysetRequest {
  limit: number;
  next: number | undefined;
  previous: number | undefined;
  last: boolean;
  ascending: boolean;
}

const cursor = z
  .string()
  .max(20)
  .refine((s) => asId(s) !== undefined, 'must be an id from a previous page')
  .transform((s) => asId(s)!);

/**
 * The paging part of a keyset listing's query (connect-api-next.md §7.1, §8.1): `limit`
 * (1–500, "best effort", so out-of-range values are clamped rather than refused), `next` or
 * `previous` (an id from the page before), `last=true`, and the order, whose name differs
 * between endpoints (`ascOrder` for audit logs, `asc_order` for instrumentation).
 */
export function keysetQuery(query: unknown, orderParam: string, defaultLimit: number): KeysetRequest {
  const q = parseInput(
    z
      .object({
        limit: z.coerce.number().int().optional(),
        next: cursor.optional(),
        previous: cursor.optional(),
        last: z.enum(['true', 'false']).optional(),
        [orderParam]: z.enum(['true', 'false', 'TRUE', 'FALSE']).optional(),
      })
      .loose(),
    query,
    'query',
  ) as { limit?: number; next?: number; previous?: number; last?: string } & Record<string, unknown>;
  return {
    limit: Math.min(500, Math.max(1, q.limit ?? defaultLimit)),
    next: q.next,
    previous: q.previous,
    last: q.last === 'true',
    ascending: String(q[orderParam] ?? 'true').toLowerCase() === 'true',
  };
}

/**
 * One page in the order asked for, and the cursors either side (null at an end). Pages follow
 * ids, not offsets, so rows written meanwhile neither shift nor repeat a page; one row more
 * than the page is read to know whether another page follows.
 */
export async function keysetPage<T extends { id: number }>(
  r: KeysetRequest,
  fetch: (f: KeysetFetch) => Promise<T[]>,
): Promise<{ rows: T[]; previous: number | null; next: number | null }> {
  const forward = r.ascending ? 'asc' : 'desc';
  const backward = r.ascending ? 'desc' : 'asc';
  // Strictly beyond, or before, an id in the reading order.
  const beyond = (id: number) => (r.ascending ? { afterId: id } : { beforeId: id });
  const before = (id: number) => (r.ascending ? { beforeId: id } : { afterId: id });
  const take = r.limit + 1;
  if (r.last || r.previous !== undefined) {
    // Read backwards from the end (or from the cursor), then show in the reading order.
    const got = await fetch({ order: backward, ...(r.previous !== undefined ? before(r.previous) : {}), limit: take });
    const rows = got.slice(0, r.limit).reverse();
    const more = got.length > r.limit;
    return { rows, previous: more && rows.length ? rows[0]!.id : null, next: !r.last && rows.length ? rows[rows.length - 1]!.id : null };
  }
  const got = await fetch({ order: forward, ...(r.next !== undefined ? beyond(r.next) : {}), limit: take });
  const rows = got.slice(0, r.limit);
  return {
    rows,
    previous: r.next !== undefined && rows.length ? rows[0]!.id : null,
    next: got.length > r.limit ? rows[rows.length - 1]!.id : null,
  };
}

/**
 * The envelope Connect answers keyset listings with: only `paging` and `results` (posit-sdk-py
 * builds its page from exactly those), cursors as strings or null, and absolute links that keep
 * the request's filters (connectapi follows `paging.next` as given), never an empty link.
 */
export function keysetEnvelope<R>(req: Request, publicUrl: string | undefined, page: { previous: number | null; next: number | null }, results: R[]) {
  const here = `${baseUrl(req, publicUrl)}${req.baseUrl}${req.path}`;
  const link = (change: Record<string, string>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) if (!['next', 'previous', 'last'].includes(k) && typeof v === 'string') p.set(k, v);
    for (const [k, v] of Object.entries(change)) p.set(k, v);
    const s = p.toString();
    return s ? `${here}?${s}` : here;
  };
  const previous = page.previous === null ? null : String(page.previous);
  const next = page.next === null ? null : String(page.next);
  return {
    paging: {
      cursors: { previous, next },
      first: link({}),
      previous: previous === null ? null : link({ previous }),
      next: next === null ? null : link({ next }),
      last: link({ last: 'true' }),
    },
    results,
  };
}
