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

  async recent(limit: number, action?: AuditAction): Promise<AuditEntry[]> {
    const rows = (await this.knex('audit_log')
      .modify((b) => {
        if (action) b.where({ action });
      })
      .orderBy('id', 'desc')
      .limit(limit)) as AuditRow[];
    return rows.map((r) => ({
      id: Number(r.id),
      time: toDate(r.time),
      actorUserId: r.actor_user_id === null ? null : Number(r.actor_user_id),
      action: r.action as AuditAction,
      targetType: r.target_type,
      targetId: r.target_id,
      ip: r.ip,
      details: toJson<Record<string, unknown>>(r.details, {}),
    }));
  }
}
