import type { Database } from './connect.ts';

/** How the database's connection pool is used right now: in use, idle, and requests waiting for one. */
export interface PoolUse {
  used: number;
  free: number;
  pending: number;
}

// knex's pool is tarn's; its counters are not in knex's types.
interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/** For the metrics: read at scrape time, never on a request's path. */
export function poolUse(db: Database): PoolUse {
  const pool = (db.knex.client as { pool?: TarnPool }).pool;
  if (!pool) return { used: 0, free: 0, pending: 0 };
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() + pool.numPendingCreates() };
}
