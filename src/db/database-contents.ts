import type { Database } from './connect.ts';

/**
 * Up to `limit` tables, views and sequences a PostgreSQL database holds outside the system
 * schemas, as `schema.name`: none means it is empty, the only kind a restore writes into.
 */
export async function postgresRelations(db: Database, limit = 5): Promise<string[]> {
  if (db.dialect !== 'postgres') throw new Error('postgresRelations: not a PostgreSQL database');
  const result = (await db.knex.raw(
    `select n.nspname || '.' || c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      order by 1 limit ?`,
    [limit],
  )) as { rows: Array<{ name: string }> };
  return result.rows.map((r) => r.name);
}
