import type { Knex } from 'knex';
import { toDate, toJson } from '../db/values.ts';
import type { AuditAction, AuditEntry } from '../domain/audit.ts';

export interface NewAuditEntry {
  actorUserId: number | null;
  action: AuditAction;
  targetType?: string | undefined;
  targetId?: string | undefined;
  ip?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

interface AuditRow {
  id: number | string;
  time: unknown;
  actor_user_id: number | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  details: unknown;
}

/** The audit page's filters; `beforeId` is the keyset: entries older than the last one shown. */
export interface AuditFilter {
  action?: AuditAction | undefined;
  actorUserId?: number | undefined;
  /** From this instant on (inclusive). */
  from?: Date | undefined;
  /** Before this instant (exclusive). */
  until?: Date | undefined;
  beforeId?: number | undefined;
  /** Entries newer than this one (the API's cursors page both ways). */
  afterId?: number | undefined;
  /** By id; newest first unless asked. */
  order?: 'asc' | 'desc' | undefined;
  limit: number;
}

/** An entry with its actor's username, guid and full name (null: no user, or one since deleted). */
export type NamedAuditEntry = AuditEntry & { actorUsername: string | null; actorGuid: string | null; actorName: string | null };

interface NamedRow {
  actor_username: string | null;
  actor_guid: string | null;
  actor_first: string | null;
  actor_last: string | null;
}

function toEntry(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    time: toDate(r.time),
    actorUserId: r.actor_user_id === null ? null : Number(r.actor_user_id),
    action: r.action as AuditAction,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    details: toJson<Record<string, unknown>>(r.details, {}),
  };
}

export class AuditRepo {
  constructor(private readonly knex: Knex) {}

  async insert(e: NewAuditEntry): Promise<void> {
    await this.knex('audit_log').insert({
      time: new Date(),
      actor_user_id: e.actorUserId,
      action: e.action,
      target_type: e.targetType ?? null,
      target_id: e.targetId ?? null,
      ip: e.ip ?? null,
      details: JSON.stringify(e.details ?? {}),
    });
  }

  /**
   * The daily prune: entries older than `before`, oldest first, `batch` at a time (by id, so
   * each DELETE is short and the same SQL on both databases). Returns the rows removed.
   */
  async pruneBefore(before: Date, batch = 5000): Promise<number> {
    let n = 0;
    for (;;) {
      const removed = await this.knex('audit_log')
        .whereIn('id', (q) => void q.select('id').from('audit_log').where('time', '<', before).orderBy('id').limit(batch))
        .delete();
      n += removed;
      if (removed < batch) return n;
    }
  }

  async recent(limit: number, action?: AuditAction): Promise<AuditEntry[]> {
    const rows = (await this.knex('audit_log')
      .modify((b) => {
        if (action) b.where({ action });
      })
      .orderBy('id', 'desc')
      .limit(limit)) as AuditRow[];
    return rows.map(toEntry);
  }

  /**
   * Newest first, filtered, one page after `beforeId`: the id orders entries as they were
   * written, so paging by it neither skips nor repeats an entry while new ones arrive (an
   * offset would). The same SQL on SQLite and PostgreSQL.
   */
  async page(f: AuditFilter): Promise<NamedAuditEntry[]> {
    const q = this.knex('audit_log as a')
      .leftJoin('users as u', 'u.id', 'a.actor_user_id')
      .select('a.*', 'u.username as actor_username', 'u.guid as actor_guid', 'u.first_name as actor_first', 'u.last_name as actor_last');
    if (f.action) q.where('a.action', f.action);
    if (f.actorUserId !== undefined) q.where('a.actor_user_id', f.actorUserId);
    if (f.from) q.where('a.time', '>=', f.from);
    if (f.until) q.where('a.time', '<', f.until);
    if (f.beforeId !== undefined) q.where('a.id', '<', f.beforeId);
    if (f.afterId !== undefined) q.where('a.id', '>', f.afterId);
    const rows = (await q.orderBy('a.id', f.order ?? 'desc').limit(f.limit)) as Array<AuditRow & NamedRow>;
    return rows.map((r) => ({
      ...toEntry(r),
      actorUsername: r.actor_username,
      actorGuid: r.actor_guid,
      actorName: [r.actor_first, r.actor_last].filter(Boolean).join(' ') || null,
    }));
  }
}
