import type { Knex } from 'knex';
import { toBool, toDate, toDateOrNull, toJson } from '../db/values.ts';
import type { Rendering, RenderStatus, RenderTrigger } from '../domain/reports.ts';

type Row = Record<string, unknown>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toRendering(r: Row): Rendering {
  return {
    id: Number(r.id),
    contentId: Number(r.content_id),
    variantId: Number(r.variant_id),
    bundleId: Number(r.bundle_id),
    trigger: String(r.trigger) as RenderTrigger,
    scheduleId: num(r.schedule_id),
    dueTime: toDateOrNull(r.due_time),
    status: String(r.status) as RenderStatus,
    attempt: Number(r.attempt),
    activate: toBool(r.activate),
    email: toBool(r.email),
    serverId: str(r.server_id),
    leaseUntil: toDateOrNull(r.lease_until),
    taskId: str(r.task_id),
    jobKey: str(r.job_key),
    outputPath: str(r.output_path),
    outputFile: str(r.output_file),
    metadata: toJson<unknown>(r.metadata_json, null),
    error: str(r.error),
    requestedBy: num(r.requested_by),
    createdTime: toDate(r.created_time),
    startedTime: toDateOrNull(r.started_time),
    renderTime: toDateOrNull(r.render_time),
    renderDurationNs: num(r.render_duration),
  };
}

export interface NewRendering {
  contentId: number;
  variantId: number;
  bundleId: number;
  trigger: RenderTrigger;
  scheduleId?: number | null;
  dueTime?: Date | null;
  status: 'queued' | 'running';
  attempt?: number;
  activate: boolean;
  email: boolean;
  serverId: string;
  leaseUntil: Date;
  taskId?: string | null;
  requestedBy?: number | null;
}

export function renderingRow(n: NewRendering, now: Date): Row {
  return {
    content_id: n.contentId,
    variant_id: n.variantId,
    bundle_id: n.bundleId,
    trigger: n.trigger,
    schedule_id: n.scheduleId ?? null,
    due_time: n.dueTime ?? null,
    status: n.status,
    attempt: n.attempt ?? 1,
    activate: n.activate,
    email: n.email,
    server_id: n.serverId,
    lease_until: n.leaseUntil,
    task_id: n.taskId ?? null,
    requested_by: n.requestedBy ?? null,
    created_time: now,
    started_time: n.status === 'running' ? now : null,
  };
}

export interface RenderOutcome {
  jobKey: string | null;
  outputPath?: string | null;
  outputFile?: string | null;
  metadataJson?: string | null;
  error?: string | null;
  renderTime: Date;
  durationNs: number;
}

const UNFINISHED = ['queued', 'running'];

const SERVED_COLUMNS = ['id', 'content_id', 'variant_id', 'bundle_id', 'trigger', 'schedule_id', 'due_time', 'status', 'attempt', 'activate', 'email']
  .concat(['server_id', 'lease_until', 'task_id', 'job_key', 'output_path', 'output_file', 'error', 'requested_by'])
  .concat(['created_time', 'started_time', 'render_time', 'render_duration']);

export class RenderingRepo {
  constructor(private readonly knex: Knex) {}

  async create(n: NewRendering): Promise<Rendering> {
    const [row] = (await this.knex('renderings').insert(renderingRow(n, new Date())).returning('*')) as Row[];
    return toRendering(row!);
  }

  async byId(id: number): Promise<Rendering | undefined> {
    const row = (await this.knex('renderings').where({ id }).first()) as Row | undefined;
    return row && toRendering(row);
  }

  /** A rendering as a page view needs it: without the document's email metadata (up to 8 MiB). */
  async served(id: number): Promise<Rendering | undefined> {
    const row = (await this.knex('renderings').where({ id }).first(SERVED_COLUMNS)) as Row | undefined;
    return row && toRendering(row);
  }

  /** Newest first. */
  async forVariant(variantId: number, limit = 1000): Promise<Rendering[]> {
    return ((await this.knex('renderings').where({ variant_id: variantId }).orderBy('id', 'desc').limit(limit)) as Row[]).map(toRendering);
  }

  /**
   * Deletes every rendering of a variant (before the variant itself goes) and answers their
   * output paths. A render running now then fails to finish and removes its own output.
   */
  async deleteForVariant(variantId: number): Promise<string[]> {
    return this.knex.transaction(async (trx) => {
      const rows = (await trx('renderings').where({ variant_id: variantId }).forUpdate().select('output_path')) as { output_path: string | null }[];
      await trx('renderings').where({ variant_id: variantId }).delete();
      return rows.flatMap((r) => (r.output_path ? [r.output_path] : []));
    });
  }

  /** Scheduled renders of the given schedules (all their slots), for counting. */
  async forSchedules(scheduleIds: readonly number[]): Promise<Rendering[]> {
    if (!scheduleIds.length) return [];
    return ((await this.knex('renderings').whereIn('schedule_id', scheduleIds).orderBy('id')) as Row[]).map(toRendering);
  }

  /** Marks a queued render started; false if it is no longer this server's to run. */
  async start(id: number, serverId: string, now: Date): Promise<boolean> {
    return (await this.knex('renderings').where({ id, server_id: serverId, status: 'queued' }).update({ status: 'running', started_time: now })) === 1;
  }

  /** This server still vouches for its unfinished renders until `until`. */
  async renew(serverId: string, until: Date): Promise<void> {
    await this.knex('renderings').where({ server_id: serverId }).whereIn('status', UNFINISHED).update({ lease_until: until });
  }

  /**
   * Ends a render this server runs; false if it is no longer this server's (another server
   * declared it dead, or a shutdown handed it back).
   */
  async finish(id: number, serverId: string, status: 'succeeded' | 'failed', o: RenderOutcome): Promise<boolean> {
    const n = await this.knex('renderings')
      .where({ id, server_id: serverId, status: 'running' })
      .update({
        status,
        job_key: o.jobKey,
        output_path: o.outputPath ?? null,
        output_file: o.outputFile ?? null,
        metadata_json: o.metadataJson ?? null,
        error: o.error ?? null,
        render_time: o.renderTime,
        render_duration: o.durationNs,
        lease_until: null,
      });
    return n === 1;
  }

  /** Running renders whose server stopped vouching for them before `now`: their server died. */
  async lapsed(now: Date, limit = 100): Promise<Rendering[]> {
    return ((await this.knex('renderings').where({ status: 'running' }).andWhere('lease_until', '<', now).orderBy('id').limit(limit)) as Row[]).map(
      toRendering,
    );
  }

  /**
   * Declares a lapsed render failed and queues its retry (if any) in one transaction: only the
   * one caller that failed it gets the retry, and a crash between the two loses neither.
   * Answers false if another server got there first, else the retry (or null without one).
   */
  async failLapsed(id: number, now: Date, error: string, retry: NewRendering | null): Promise<Rendering | null | false> {
    return this.knex.transaction(async (trx) => {
      const n = await trx('renderings')
        .where({ id, status: 'running' })
        .andWhere('lease_until', '<', now)
        .update({ status: 'failed', error, render_time: now, lease_until: null });
      if (n !== 1) return false;
      if (!retry) return null;
      const [row] = (await trx('renderings').insert(renderingRow(retry, now)).returning('*')) as Row[];
      return toRendering(row!);
    });
  }

  /**
   * Queued renders whose server let go of them (it shut down, or died before starting them)
   * become this server's: nothing of them ran, so they are taken over, not failed.
   */
  async adoptQueued(now: Date, serverId: string, leaseUntil: Date, limit = 100): Promise<Rendering[]> {
    const ids = (await this.knex('renderings')
      .where({ status: 'queued' })
      .andWhere('lease_until', '<', now)
      .orderBy('id')
      .limit(limit)
      .pluck('id')) as number[];
    const adopted: Rendering[] = [];
    for (const id of ids) {
      const n = await this.knex('renderings')
        .where({ id, status: 'queued' })
        .andWhere('lease_until', '<', now)
        .update({ server_id: serverId, lease_until: leaseUntil });
      const r = n === 1 ? await this.byId(id) : undefined;
      if (r) adopted.push(r);
    }
    return adopted;
  }

  /** A server shutting down lets go of the renders it has not started: any server may take them now. */
  async releaseQueued(serverId: string, now: Date): Promise<number> {
    return this.knex('renderings').where({ server_id: serverId, status: 'queued' }).update({ lease_until: now });
  }

  /**
   * A server shutting down lets go of its unfinished renders: queued again with a lapsed lease,
   * so the next tick of any server (or this one's restart) takes them over. Its own result of a
   * render it was running, if it comes, is then refused by `finish`.
   */
  async release(serverId: string, now: Date): Promise<number> {
    return this.knex('renderings')
      .where({ server_id: serverId })
      .whereIn('status', UNFINISHED)
      .update({ status: 'queued', started_time: null, lease_until: now });
  }

  /**
   * Finished renders of a variant beyond the newest `keep`, never the active one and never one
   * whose mail is still waiting to go (a queued message names its files by path): deleted,
   * their output paths returned. One held back by mail goes at a later prune.
   */
  async prune(variantId: number, keep: number, activeId: number | null): Promise<string[]> {
    const mailWaiting = (q: Knex.QueryBuilder) =>
      q
        .select(this.knex.raw('1'))
        .from('email_messages as m')
        .join('email_sends as s', 's.message_id', 'm.id')
        .whereRaw('m.rendering_id = renderings.id')
        .andWhere('s.status', 'pending');
    const rows = (await this.knex('renderings')
      .where({ variant_id: variantId })
      .whereNotIn('status', UNFINISHED)
      .orderBy('id', 'desc')
      .offset(keep)
      .select('id')) as { id: number }[];
    const doomed = rows.map((r) => Number(r.id)).filter((id) => id !== activeId);
    if (!doomed.length) return [];
    // Read, then delete, in one transaction: SQLite's DELETE … RETURNING answers a count through knex.
    return this.knex.transaction(async (trx) => {
      const gone = (await trx('renderings')
        .whereIn('id', doomed)
        .whereNotExists(function (this: Knex.QueryBuilder) {
          mailWaiting(this);
        })
        .forUpdate()
        .select('id', 'output_path')) as { id: number; output_path: string | null }[];
      if (!gone.length) return [];
      await trx('renderings')
        .whereIn(
          'id',
          gone.map((r) => Number(r.id)),
        )
        .delete();
      return gone.flatMap((r) => (r.output_path ? [r.output_path] : []));
    });
  }
}
