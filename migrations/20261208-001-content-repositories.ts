import type { Knex } from 'knex';

// Git-backed content (connect-api-next.md §9.3): where an item's bundles come from, the state of
// the last look at it, and its webhook secret and optional credentials, both sealed (SecretBox)
// like environment variables. One row per item; deleting the item deletes it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('content_repositories', (t) => {
    t.integer('content_id').primary().references('id').inTable('content').onDelete('CASCADE');
    t.text('repository').notNullable();
    t.text('branch').notNullable();
    t.text('directory').notNullable();
    t.boolean('polling').notNullable().defaultTo(false);
    // Lectern's own: a push to another branch deploys that branch as a draft.
    t.boolean('preview_branches').notNullable().defaultTo(false);
    t.text('webhook_secret').notNullable();
    t.text('credentials').nullable();
    t.text('last_error').nullable();
    t.text('last_known_commit').nullable();
    t.timestamp('last_fetched_time', { useTz: true }).nullable();
    t.timestamp('created_time', { useTz: true }).notNullable();
    t.timestamp('updated_time', { useTz: true }).notNullable();
    t.index(['polling', 'last_fetched_time']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('content_repositories');
}
