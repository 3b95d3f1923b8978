import type { Knex } from 'knex';

// The catalog's "Recently viewed": when each user last opened each item's page. One row per
// user and item, rewritten on each visit, and trimmed to the newest few per user.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('recent_views', (t) => {
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    t.timestamp('viewed_time', { useTz: true }).notNullable();
    t.primary(['user_id', 'content_id']);
    t.index(['user_id', 'viewed_time']);
    t.index(['content_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('recent_views');
}
