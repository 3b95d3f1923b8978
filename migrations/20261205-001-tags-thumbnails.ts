import type { Knex } from 'knex';

const ts = (t: Knex.CreateTableBuilder, name: string) => t.timestamp(name, { useTz: true });

// The catalog's organisation (connect-api-next.md §1, §2): a tag tree whose top level are
// categories, the tags attached to each item (with their ancestors below the category, stored
// explicitly, so "tagged X" is one lookup), and one thumbnail image per item.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tags', (t) => {
    t.increments('id').primary();
    t.string('name', 255).notNullable();
    // Null: a category. Deleting a tag deletes its subtree.
    t.integer('parent_id').nullable().references('id').inTable('tags').onDelete('CASCADE');
    ts(t, 'created_time').notNullable();
    ts(t, 'updated_time').notNullable();
    t.index(['parent_id']);
  });

  await knex.schema.createTable('content_tags', (t) => {
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    t.integer('tag_id').notNullable().references('id').inTable('tags').onDelete('CASCADE');
    t.primary(['content_id', 'tag_id']);
    t.index(['tag_id']);
  });

  // In the database, not on disk: a few hundred KB at most, written whole or not at all, and
  // seen the same by every server.
  await knex.schema.createTable('content_thumbnails', (t) => {
    t.integer('content_id').primary().references('id').inTable('content').onDelete('CASCADE');
    t.string('mime_type', 64).notNullable();
    t.binary('image').notNullable();
    ts(t, 'updated_time').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['content_thumbnails', 'content_tags', 'tags']) await knex.schema.dropTableIfExists(table);
}
