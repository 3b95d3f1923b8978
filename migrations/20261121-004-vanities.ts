import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('vanities', (t) => {
    // One vanity path per content item, and each path names one item.
    t.integer('content_id').primary().references('id').inTable('content').onDelete('CASCADE');
    t.string('path', 1024).notNullable().unique();
    t.timestamp('created_time', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('vanities');
}
