import type { Knex } from 'knex';

// Timed work that runs once a day for every server sharing the database (the daily prune):
// a row per kind of work, and when a server last claimed it. A claim is one conditional
// UPDATE, so of several servers at the same moment exactly one gets the day's run.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('timed_work', (t) => {
    t.string('name', 64).primary();
    t.timestamp('last_run', { useTz: true }).nullable();
    t.string('server_id', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('timed_work');
}
