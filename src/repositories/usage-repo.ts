import type { Knex } from 'knex';
import { toDate, toDateOrNull } from '../db/values.ts';
import type { Hit, ShinySession, UsageFilter, UsageScope, Visit } from '../domain/usage.ts';

/** One keyset page's bounds (as `AuditRepo.page` takes them). */
export interface UsagePageFetch {
  order: 'asc' | 'desc';
  afterId?: number | undefined;
  beforeId?: number | undefined;
  limit: number;
}

/** Many rows in one INSERT stay under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

type Row = Record<string, unknown>;

/** What one write adds: new rows, and the ends of sessions an earlier batch wrote open. */
export interface UsageBatch {
  visits: Visit[];
  hits: Hit[];
  sessions: ShinySession[];
  ends: Array<{ key: string; ended: Date }>;
}

/** The usage tables (migrations/20261208-002-usage.ts): batched writes, filtered keyset reads, pruning. */
export class UsageRepo {
  constructor(private readonly knex: Knex) {}

  /**
   * Writes one batch in one transaction (one commit, one fsync): one INSERT per table, then
   * the ends of sessions written earlier (a session that began and ended within one batch
   * arrives already ended). Run on the usage writer's own thread and connection
   * (src/services/usage/writer-thread.ts), so it never counts as a write of the server's
   * (src/db/write-generation.ts) nor waits in its pool.
   */
  async writeBatch(b: UsageBatch): Promise<void> {
    await this.knex.transaction(async (trx) => {
      const insert = async (table: string, rows: Row[]) => {
        for (let i = 0; i < rows.length; i += CHUNK) await trx(table).insert(rows.slice(i, i + CHUNK));
      };
      await insert('content_visits', b.visits.map(visitRow));
      await insert('content_hits', b.hits.map(hitRow));
      await insert('shiny_usage', b.sessions.map(sessionRow));
      for (const e of b.ends) await trx('shiny_usage').where('session_key', e.key).update({ ended: e.ended });
    });
  }

  async visits(f: UsageFilter & UsagePageFetch): Promise<Array<Visit & { id: number }>> {
    const rows = (await this.paged('content_visits', 'time', f)) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      contentGuid: String(r.content_guid),
      userGuid: (r.user_guid as string | null) ?? null,
      variantKey: (r.variant_key as string | null) ?? null,
      renderingId: r.rendering_id === null ? null : Number(r.rendering_id),
      bundleId: r.bundle_id === null ? null : Number(r.bundle_id),
      path: String(r.path),
      userAgent: (r.user_agent as string | null) ?? null,
      time: toDate(r.time),
      dataVersion: Number(r.data_version),
    }));
  }

  /**
   * Sessions in the order they started (§7.2 orders by `started`): a row is written when its
   * session begins, in the order sessions began, so keyset paging by id is that order.
   */
  async shinySessions(f: UsageFilter & UsagePageFetch): Promise<Array<ShinySession & { id: number }>> {
    const rows = (await this.paged('shiny_usage', 'started', f)) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      key: String(r.session_key),
      contentGuid: String(r.content_guid),
      userGuid: (r.user_guid as string | null) ?? null,
      started: toDate(r.started),
      ended: toDateOrNull(r.ended),
      dataVersion: Number(r.data_version),
    }));
  }

  /** Hits, oldest first, unpaged (§7.3), at most `limit`. */
  async hits(f: UsageFilter, limit: number): Promise<Array<Hit & { id: number }>> {
    const q = this.knex('content_hits').select('*');
    this.filter(q, 'time', f);
    const rows = (await q.orderBy('id', 'asc').limit(limit)) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      contentGuid: String(r.content_guid),
      userGuid: (r.user_guid as string | null) ?? null,
      time: toDate(r.time),
      path: String(r.path),
      query: String(r.query),
      userAgent: (r.user_agent as string | null) ?? null,
      secFetchDest: (r.sec_fetch_dest as string | null) ?? null,
      secFetchSite: (r.sec_fetch_site as string | null) ?? null,
    }));
  }

  /** Deletes what is older than `before` (a session by its end; an open one is kept). Returns the rows removed. */
  async prune(before: Date): Promise<number> {
    let n = 0;
    n += await this.knex('content_visits').where('time', '<', before).delete();
    n += await this.knex('content_hits').where('time', '<', before).delete();
    n += await this.knex('shiny_usage').where('ended', '<', before).delete();
    return n;
  }

  private paged(table: string, timeColumn: string, f: UsageFilter & UsagePageFetch) {
    const q = this.knex(table).select('*');
    this.filter(q, timeColumn, f);
    if (f.afterId !== undefined) q.where('id', '>', f.afterId);
    if (f.beforeId !== undefined) q.where('id', '<', f.beforeId);
    return q.orderBy('id', f.order).limit(f.limit);
  }

  private filter(q: Knex.QueryBuilder, timeColumn: string, f: UsageFilter): void {
    if (f.contentGuids) q.whereIn('content_guid', f.contentGuids);
    if (f.minDataVersion !== undefined) q.where('data_version', '>=', f.minDataVersion);
    if (f.from) q.where(timeColumn, '>=', f.from);
    if (f.to) q.where(timeColumn, '<=', f.to);
    // Written as LIKE for both databases: lower() on each side (PostgreSQL's LIKE minds case),
    // and the pattern's own % and _ escaped, so they match themselves.
    if (f.userAgent !== undefined) q.whereRaw(`lower(user_agent) like ? escape '\\'`, [`%${f.userAgent.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`]);
    this.scoped(q, f.scope);
  }

  /** A publisher's items: owned, or a collaborator's grant to them or one of their groups. */
  private scoped(q: Knex.QueryBuilder, scope: UsageScope): void {
    if (scope.kind === 'everything') return;
    const { userId } = scope;
    const k = this.knex;
    const groups = k('group_members').select('group_id').where('user_id', userId);
    const granted = k('content_permissions')
      .select('content_id')
      .where('role', 'owner')
      .andWhere((w) => void w.where('user_id', userId).orWhereIn('group_id', groups));
    q.whereIn('content_guid', k('content').select('guid').where('owner_id', userId).orWhereIn('id', granted));
  }
}

function visitRow(v: Visit): Row {
  return {
    content_guid: v.contentGuid,
    user_guid: v.userGuid,
    variant_key: v.variantKey,
    rendering_id: v.renderingId,
    bundle_id: v.bundleId,
    path: v.path,
    user_agent: v.userAgent,
    time: v.time,
    data_version: v.dataVersion,
  };
}

function hitRow(h: Hit): Row {
  return {
    content_guid: h.contentGuid,
    user_guid: h.userGuid,
    time: h.time,
    path: h.path,
    query: h.query,
    user_agent: h.userAgent,
    sec_fetch_dest: h.secFetchDest,
    sec_fetch_site: h.secFetchSite,
  };
}

function sessionRow(s: ShinySession): Row {
  return { session_key: s.key, content_guid: s.contentGuid, user_guid: s.userGuid, started: s.started, ended: s.ended, data_version: s.dataVersion };
}
