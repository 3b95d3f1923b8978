import type { Knex } from 'knex';

// Usage instrumentation (connect-api-next.md §7): page views, Shiny sessions and every request
// to content. Items and users are kept by guid, not by foreign key: these rows are history
// written in batches after the fact, and an item deleted meanwhile must not fail the batch.
// Each listing pages by id within an item's rows, and retention deletes by time. Integer ids,
// as the keyset cursors (src/domain/ids.ts) take; retention keeps the firehose well below that.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('content_visits', (t) => {
    t.increments('id').primary();
    t.uuid('content_guid').notNullable();
    t.uuid('user_guid').nullable();
    t.string('variant_key', 32).nullable();
    t.integer('rendering_id').nullable();
    t.integer('bundle_id').nullable();
    t.text('path').notNullable();
    t.text('user_agent').nullable();
    t.timestamp('time', { useTz: true }).notNullable();
    t.integer('data_version').notNullable();
    t.index(['content_guid', 'id']);
    t.index(['time']);
  });
  await knex.schema.createTable('shiny_usage', (t) => {
    t.increments('id').primary();
    // The proxy's name for the session, so its end finds the row written at its start.
    t.uuid('session_key').notNullable().unique();
    t.uuid('content_guid').notNullable();
    t.uuid('user_guid').nullable();
    t.timestamp('started', { useTz: true }).notNullable();
    t.timestamp('ended', { useTz: true }).nullable();
    t.integer('data_version').notNullable();
    t.index(['content_guid', 'id']);
    t.index(['started']);
  });
  await knex.schema.createTable('content_hits', (t) => {
    t.increments('id').primary();
    t.uuid('content_guid').notNullable();
    t.uuid('user_guid').nullable();
    t.timestamp('time', { useTz: true }).notNullable();
    t.text('path').notNullable();
    t.text('query').notNullable();
    t.text('user_agent').nullable();
    t.string('sec_fetch_dest', 32).nullable();
    t.string('sec_fetch_site', 32).nullable();
    t.index(['content_guid', 'id']);
    t.index(['time']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['content_hits', 'shiny_usage', 'content_visits']) await knex.schema.dropTableIfExists(table);
}
