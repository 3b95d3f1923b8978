import type { Knex } from 'knex';

/**
 * Counts writes to the database as this process makes them, from knex's query events (which
 * include transactions). Caches of derived answers (who a key belongs to, who may see what)
 * remember the count they were made at and are void once it moves, so a revoked key or a
 * removed permission takes effect on this node at once.
 */
export function trackWrites(knex: Knex): () => number {
  let generation = 0;
  knex.on('query', (q: { method?: string }) => {
    if (isWrite(q)) generation++;
  });
  return () => generation;
}

function isWrite(q: { method?: string }): boolean {
  return q.method !== 'select' && q.method !== 'first' && q.method !== 'pluck';
}

/**
 * Calls `listener` once the database has answered a write (or refused it): what other
 * processes' caches must then forget (the proxy workers', proxy/workers/owner.ts).
 */
export function afterWrites(knex: Knex, listener: () => void): void {
  const after = (_response: unknown, q: { method?: string }) => {
    if (isWrite(q)) listener();
  };
  knex.on('query-response', after);
  knex.on('query-error', after);
}
