import type { Knex } from 'knex';

/**
 * Counts writes to the database as this process makes them, from knex's query events (which
 * include transactions). Caches of derived answers (who a key belongs to, who may see what)
 * remember the count they were made at and are void once it moves, so a revoked key or a
 * removed permission takes effect on this node at once.
 */
/**
 * Usage history (the proxy's visits, hits and Shiny sessions, written every second while
 * content is used): no cached answer derives from it, and counting it would void the proxy's
 * access cache each second.
 */
const HISTORY_ONLY = /^\s*(insert into|update|delete from) [`"]?(content_visits|content_hits|shiny_usage)[`"]?\s/i;

export function trackWrites(knex: Knex): () => number {
  let generation = 0;
  knex.on('query', (q: { method?: string; sql?: string }) => {
    if (q.method === 'select' || q.method === 'first' || q.method === 'pluck') return;
    if (q.sql !== undefined && HISTORY_ONLY.test(q.sql)) return;
    generation++;
  });
  return () => generation;
}
