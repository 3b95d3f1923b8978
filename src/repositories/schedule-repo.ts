import type { Knex } from 'knex';
import { toBool, toDate, toDateOrNull } from '../db/values.ts';
import type { Rendering, Schedule } from '../domain/reports.ts';
import { renderingRow, toRendering } from './rendering-repo.ts';

type Row = Record<string, unknown>;

function toSchedule(r: Row): Schedule {
  return {
    id: Number(r.id),
    contentId: Number(r.content_id),
    variantId: Number(r.variant_id),
    type: String(r.type),
    schedule: String(r.schedule),
    startTime: toDate(r.start_time),
    timezone: String(r.timezone),
    activate: toBool(r.activate),
    email: toBool(r.email),
    nextRun: toDateOrNull(r.next_run),
    createdTime: toDate(r.created_time),
    updatedTime: toDate(r.updated_time),
  };
}

export type ScheduleFields = Pick<Schedule, 'type' | 'schedule' | 'startTime' | 'timezone' | 'activate' | 'email' | 'nextRun'>;

function fieldsRow(f: ScheduleFields): Row {
  return { type: f.type, schedule: f.schedule, start_time: f.startTime, timezone: f.timezone, activate: f.activate, email: f.email, next_run: f.nextRun };
}

export interface ClaimOptions {
  now: Date;
  limit: number;
  serverId: string;
  leaseUntil: Date;
  /** The schedule's next run after `now` (a missed slot runs once, not once per slot missed). */
  following(s: Schedule): Date | null;
}

export class ScheduleRepo {
  constructor(private readonly knex: Knex) {}

  async byId(id: number): Promise<Schedule | undefined> {
    const row = (await this.knex('schedules').where({ id }).first()) as Row | undefined;
    return row && toSchedule(row);
  }

  async forVariant(variantId: number): Promise<Schedule | undefined> {
    const row = (await this.knex('schedules').where({ variant_id: variantId }).first()) as Row | undefined;
    return row && toSchedule(row);
  }

  /** Every schedule, or those whose next run falls in [start, end). */
  async list(window?: { start: Date; end: Date }): Promise<Schedule[]> {
    const q = this.knex('schedules').orderBy('next_run').orderBy('id');
    if (window) q.where('next_run', '>=', window.start).andWhere('next_run', '<', window.end);
    return ((await q) as Row[]).map(toSchedule);
  }

  async create(contentId: number, variantId: number, f: ScheduleFields): Promise<Schedule> {
    const now = new Date();
    const [row] = (await this.knex('schedules')
      .insert({ content_id: contentId, variant_id: variantId, ...fieldsRow(f), created_time: now, updated_time: now })
      .returning('*')) as Row[];
    return toSchedule(row!);
  }

  async replace(id: number, f: ScheduleFields): Promise<Schedule | undefined> {
    await this.knex('schedules')
      .where({ id })
      .update({ ...fieldsRow(f), updated_time: new Date() });
    return this.byId(id);
  }

  async delete(id: number): Promise<boolean> {
    return (await this.knex('schedules').where({ id }).delete()) > 0;
  }

  /**
   * Claims the schedules whose time has come, in one transaction: each moves on to its next
   * run and gets a queued rendering owned by `serverId`. On PostgreSQL the rows are locked
   * with SKIP LOCKED, so servers sharing the database split the due schedules between them;
   * the (schedule, due time) key makes a slot render once even if two claims overlapped.
   */
  async claimDue(o: ClaimOptions): Promise<Rendering[]> {
    return this.knex.transaction(async (trx) => {
      const q = trx('schedules').where('next_run', '<=', o.now).orderBy('next_run').orderBy('id').limit(o.limit);
      if (trx.client.dialect === 'postgresql') q.forUpdate().skipLocked();
      const due = ((await q) as Row[]).map(toSchedule);
      const claimed: Rendering[] = [];
      // One look per item at its active bundle, however many of its variants are due.
      const bundles = new Map<number, number | null>();
      const bundleOf = async (contentId: number) => {
        if (!bundles.has(contentId)) {
          const c = (await trx('content').where({ id: contentId }).first('bundle_id', 'locked')) as { bundle_id: number | null; locked: unknown } | undefined;
          // A locked item renders nothing (Connect disables rendering while locked).
          bundles.set(contentId, c?.bundle_id === null || c?.bundle_id === undefined || toBool(c.locked) ? null : Number(c.bundle_id));
        }
        return bundles.get(contentId)!;
      };
      for (const s of due) {
        await trx('schedules')
          .where({ id: s.id })
          .update({ next_run: o.following(s) });
        const bundleId = await bundleOf(s.contentId);
        // Nothing deployed yet, or locked: the slot passes, as it would for a server that was down.
        if (bundleId === null) continue;
        const rows = (await trx('renderings')
          .insert(
            renderingRow(
              {
                contentId: s.contentId,
                variantId: s.variantId,
                bundleId,
                trigger: 'schedule',
                scheduleId: s.id,
                dueTime: s.nextRun,
                status: 'queued',
                activate: s.activate,
                email: s.email,
                serverId: o.serverId,
                leaseUntil: o.leaseUntil,
              },
              o.now,
            ),
          )
          .onConflict(['schedule_id', 'due_time', 'attempt'])
          .ignore()
          .returning('*')) as Row[];
        if (rows[0]) claimed.push(toRendering(rows[0]));
      }
      return claimed;
    });
  }
}
