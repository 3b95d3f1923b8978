import { Router, type Request } from 'express';
import { z } from 'zod';
import { isGuid } from '../../domain/ids.ts';
import type { UsageService } from '../../services/usage/usage-service.ts';
import { keysetEnvelope, keysetPage, keysetQuery } from '../keyset-paging.ts';
import { currentUser } from '../middleware/require-role.ts';
import { iso } from '../serializers/iso.ts';
import { parseInput } from '../validate.ts';

const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 timestamp');

/**
 * The filters of connect-api-next.md §7.1–7.3: `content_guid` (one, or several joined by
 * `|`), `min_data_version`, the inclusive window `from`..`to` (open at either end; `to` is
 * "now" when absent, which an open end already means for rows written so far), and for visits
 * `user_agent` (2026), which Connect leaves undefined beyond its name: Lectern keeps the
 * visits whose user agent contains it, ignoring case, so `user_agent=Firefox` or a bot's name
 * picks them out.
 */
function filters(req: Request, defaultMinVersion: number | undefined) {
  const q = parseInput(
    z
      .object({
        content_guid: z
          .string()
          .refine((s) => s.split('|').every(isGuid), 'must be a content GUID, or several joined by |')
          .optional(),
        min_data_version: z.coerce.number().int().min(0).optional(),
        from: instant.optional(),
        to: instant.optional(),
        user_agent: z.string().max(1000).optional(),
      })
      .loose(),
    req.query,
    'query',
  );
  return {
    contentGuids: q.content_guid?.split('|').map((g) => g.toLowerCase()),
    minDataVersion: q.min_data_version ?? defaultMinVersion,
    from: q.from === undefined ? undefined : new Date(q.from),
    to: q.to === undefined ? undefined : new Date(q.to),
    userAgent: q.user_agent === '' ? undefined : q.user_agent,
  };
}

/**
 * `GET /v1/instrumentation/content/visits`, `/shiny/usage` (keyset-paged, `asc_order`, 20 a
 * page by default) and `/content/hits` (an array, unpaged). Administrators see everything,
 * publishers their own items' usage, viewers nothing (UsageService decides).
 */
export function instrumentationRoutes(usage: UsageService, publicUrl: string | undefined): Router {
  const r = Router();
  r.get('/v1/instrumentation/content/visits', async (req, res) => {
    const user = currentUser(req);
    const f = filters(req, 3);
    const page = await keysetPage(keysetQuery(req.query, 'asc_order', 20), (k) => usage.visits(user, { ...f, ...k }));
    const results = page.rows.map((v) => ({
      content_guid: v.contentGuid,
      user_guid: v.userGuid,
      variant_key: v.variantKey,
      // Strings, as Connect's spec types them (connectapi casts either way).
      rendering_id: v.renderingId === null ? null : String(v.renderingId),
      bundle_id: v.bundleId === null ? null : String(v.bundleId),
      time: iso(v.time),
      data_version: v.dataVersion,
      path: v.path,
      user_agent: v.userAgent,
    }));
    res.json(keysetEnvelope(req, publicUrl, page, results));
  });
  r.get('/v1/instrumentation/shiny/usage', async (req, res) => {
    const user = currentUser(req);
    // Sessions keep no user agent: that filter is the visits' alone.
    const f = { ...filters(req, 1), userAgent: undefined };
    const page = await keysetPage(keysetQuery(req.query, 'asc_order', 20), (k) => usage.shinySessions(user, { ...f, ...k }));
    const results = page.rows.map((s) => ({
      content_guid: s.contentGuid,
      user_guid: s.userGuid,
      started: iso(s.started),
      ended: iso(s.ended),
      data_version: s.dataVersion,
    }));
    res.json(keysetEnvelope(req, publicUrl, page, results));
  });
  r.get('/v1/instrumentation/content/hits', async (req, res) => {
    const user = currentUser(req);
    // Hits carry no data version.
    const { contentGuids, from, to } = filters(req, undefined);
    // (Connect's spec gives `user_agent` to the visits alone.)
    const rows = await usage.hits(user, { contentGuids, from, to });
    res.json(
      rows.map((h) => ({
        id: String(h.id),
        user_guid: h.userGuid,
        content_guid: h.contentGuid,
        timestamp: iso(h.time),
        data: { path: h.path, query: h.query, user_agent: h.userAgent, sec_fetch_dest: h.secFetchDest, sec_fetch_site: h.secFetchSite },
      })),
    );
  });
  return r;
}
