import type { Knex } from 'knex';

// Connect's content lock: a locked item serves its message (Markdown, shown as text) instead of
// itself, runs nothing and takes no deploys. Existing content stays unlocked.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('content', (t) => {
    t.boolean('locked').notNullable().defaultTo(false);
    t.text('locked_message').notNullable().defaultTo('');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('content', (t) => {
    t.dropColumn('locked_message');
    t.dropColumn('locked');
  });
}
