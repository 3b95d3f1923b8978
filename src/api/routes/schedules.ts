import { Router } from 'express';
import { z } from 'zod';
import { asId } from '../../domain/ids.ts';
import { zoneOffset } from '../../domain/schedules/time-zones.ts';
import { knownTimeZones } from '../../services/reports/time-zone-list.ts';
import { actorOf } from '../../http/actor.ts';
import type { ReportServices } from '../../services/reports/index.ts';
import type { ScheduleInput } from '../../services/reports/schedule-service.ts';
import { currentUser, requireUser } from '../middleware/require-role.ts';
import { scheduleJson } from '../serializers/report-json.ts';
import { parseInput } from '../validate.ts';

// An id the database's integer columns can hold (a larger one is an error on PostgreSQL, not a 404).
const intId = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  const id = asId(raw);
  if (id === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an integer id' });
    return z.NEVER;
  }
  return id;
});

// connectapi sends back the whole record it read, with its own `app_guid`, `variant_key` and
// `next_run`: unknown keys are ignored (connect-api-next.md §3.7).
const scheduleBody = z
  .object({
    app_id: intId,
    variant_id: intId,
    type: z.string().max(32),
    schedule: z.union([z.string().max(4096), z.record(z.string(), z.unknown())]),
    start_time: z.string().max(64).optional(),
    timezone: z.string().max(64).optional(),
    activate: z.boolean().optional(),
    email: z.boolean().optional(),
  })
  .loose();

const windowQuery = z.object({
  start: z.iso.datetime({ offset: true }).optional(),
  end: z.iso.datetime({ offset: true }).optional(),
  detailed: z.enum(['true', 'false']).optional(),
});

function inputOf(body: unknown): ScheduleInput {
  const b = parseInput(scheduleBody, body);
  return {
    appId: b.app_id,
    variantId: b.variant_id,
    type: b.type,
    schedule: b.schedule,
    startTime: b.start_time,
    timezone: b.timezone,
    activate: b.activate,
    email: b.email,
  };
}

/** Schedules of report variants and the zones they may name (§3.6–§3.7). */
export function scheduleRoutes(reports: ReportServices): Router {
  const r = Router();
  const { schedules } = reports;
  r.use(['/schedules', '/variants/:id/schedules', '/v1/experimental/schedules'], requireUser);

  r.get('/variants/:id/schedules', async (req, res) => {
    res.json((await schedules.forVariant(currentUser(req), req.params.id)).map(scheduleJson));
  });

  r.post('/schedules', async (req, res) => {
    res.json(scheduleJson(await schedules.create(actorOf(req), currentUser(req), inputOf(req.body))));
  });

  r.get('/schedules/:id', async (req, res) => {
    res.json(scheduleJson(await schedules.get(currentUser(req), req.params.id)));
  });

  r.post('/schedules/:id', async (req, res) => {
    res.json(scheduleJson(await schedules.replace(actorOf(req), currentUser(req), req.params.id, inputOf(req.body))));
  });

  r.delete('/schedules/:id', async (req, res) => {
    await schedules.remove(actorOf(req), currentUser(req), req.params.id);
    res.status(204).end();
  });

  // The runs due in a window (default: the next 7 days), of content the caller may see.
  r.get('/v1/experimental/schedules', async (req, res) => {
    const q = parseInput(windowQuery, req.query, 'query');
    const start = q.start ? new Date(q.start) : new Date();
    const end = q.end ? new Date(q.end) : new Date(start.getTime() + 7 * 86_400_000);
    const found = await schedules.upcoming(currentUser(req), { start, end });
    res.json({
      schedules: found.map(({ schedule, of }) => ({
        ...scheduleJson(schedule),
        ...(q.detailed === 'true'
          ? { content_guid: of.content.guid, content_title: of.content.title ?? of.content.name, variant_key: of.variant.key, variant_name: of.variant.name }
          : {}),
      })),
    });
  });

  const zones = (_req: unknown, res: { json(v: unknown): void }) => {
    const now = new Date();
    res.json(knownTimeZones().map((timezone) => ({ timezone, offset: zoneOffset(timezone, now) })));
  };
  r.get('/v1/timezones', zones);
  r.get('/timezones', zones);
  return r;
}
