import { createRequire } from 'node:module';
import type { Hit } from '../domain/usage.ts';
import type { UsageBatch } from './usage-repo.ts';

const ROWS = 50;

/** The part of better-sqlite3 this writer uses (the package ships no types of its own). */
interface Statement {
  run(...params: unknown[]): unknown;
}
interface SqliteConnection {
  pragma(sql: string): unknown;
  prepare(sql: string): Statement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}

type SqliteConstructor = new (filename: string) => SqliteConnection;

/**
 * Writes usage batches to SQLite through statements prepared once, in one transaction per
 * batch: about a third of the CPU of building the same multi-row INSERT with knex each time,
 * which matters because every request to content is a row (measured in the usage notes of
 * docs/architecture.md). Its own connection, used on the usage writer's thread only.
 * Timestamps are stored as knex stores them for SQLite (milliseconds), so the knex reads in
 * usage-repo.ts compare and read them alike.
 */
export class SqliteUsageWriter {
  private readonly db: SqliteConnection;
  private readonly writeAll: (b: UsageBatch) => void;

  constructor(filename: string) {
    const Database = createRequire(import.meta.url)('better-sqlite3') as SqliteConstructor;
    this.db = new Database(filename);
    this.db.pragma('busy_timeout = 5000');
    // History only: WAL with synchronous=NORMAL never corrupts the file, and a power cut loses
    // at most the last batches rather than costing an fsync per batch. Per connection, so the
    // server's own connection keeps its stricter setting.
    this.db.pragma('synchronous = NORMAL');
    const visit = this.db.prepare(
      'insert into content_visits (content_guid, user_guid, variant_key, rendering_id, bundle_id, path, user_agent, time, data_version) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const HITS = 'insert into content_hits (content_guid, user_guid, time, path, query, user_agent, sec_fetch_dest, sec_fetch_site) values ';
    const hit = this.db.prepare(`${HITS}(?, ?, ?, ?, ?, ?, ?, ?)`);
    const hits = this.db.prepare(HITS + Array.from({ length: ROWS }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', '));
    const session = this.db.prepare('insert into shiny_usage (session_key, content_guid, user_guid, started, ended, data_version) values (?, ?, ?, ?, ?, ?)');
    const end = this.db.prepare('update shiny_usage set ended = ? where session_key = ?');
    this.writeAll = this.db.transaction((b: UsageBatch) => {
      for (const v of b.visits) {
        visit.run(v.contentGuid, v.userGuid, v.variantKey, v.renderingId, v.bundleId, v.path, v.userAgent, v.time.getTime(), v.dataVersion);
      }
      const params = (h: Hit) => [h.contentGuid, h.userGuid, h.time.getTime(), h.path, h.query, h.userAgent, h.secFetchDest, h.secFetchSite];
      let i = 0;
      for (; i + ROWS <= b.hits.length; i += ROWS) hits.run(...b.hits.slice(i, i + ROWS).flatMap(params));
      for (; i < b.hits.length; i++) hit.run(...params(b.hits[i]!));
      for (const s of b.sessions) session.run(s.key, s.contentGuid, s.userGuid, s.started.getTime(), s.ended?.getTime() ?? null, s.dataVersion);
      for (const e of b.ends) end.run(e.ended.getTime(), e.key);
    });
  }

  write(b: UsageBatch): void {
    this.writeAll(b);
  }

  close(): void {
    this.db.close();
  }
}
