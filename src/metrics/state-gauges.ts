import { Gauge, type Registry } from 'prom-client';
import type { PoolUse } from '../db/pool-use.ts';

/** What the gauges read when scraped: nothing is kept up to date between scrapes. */
export interface StateSources {
  /** The content guid of each running process (instance) of this server. */
  runningProcesses(): readonly { contentGuid: string }[];
  /** The runtime backend's name (local, docker, swarm). */
  backend: string;
  databasePool(): PoolUse;
}

/** Running processes per content and backend, and the database pool: read at scrape time. */
export function registerStateGauges(registry: Registry, sources: StateSources): void {
  new Gauge({
    name: 'lectern_content_processes',
    help: 'Running processes (or containers, or Swarm tasks) of a content item, by runtime backend.',
    labelNames: ['content_guid', 'backend'],
    registers: [registry],
    collect() {
      // Reset first: an item whose processes all stopped leaves no stale series behind.
      this.reset();
      const counts = new Map<string, number>();
      for (const p of sources.runningProcesses()) counts.set(p.contentGuid, (counts.get(p.contentGuid) ?? 0) + 1);
      for (const [guid, n] of counts) this.set({ content_guid: guid, backend: sources.backend }, n);
    },
  });
  new Gauge({
    name: 'lectern_db_pool_connections',
    help: 'The database connection pool: connections in use, idle, and requests waiting for one (state: used, free, pending).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const use = sources.databasePool();
      this.set({ state: 'used' }, use.used);
      this.set({ state: 'free' }, use.free);
      this.set({ state: 'pending' }, use.pending);
    },
  });
}
