import type { Knex } from 'knex';

const ts = (t: Knex.CreateTableBuilder, name: string) => t.timestamp(name, { useTz: true });

// Who else may see or change a content item: a user or a group, as a viewer or as a
// collaborator (Connect's role "owner"). Deleting the content, the user or the group deletes
// the grant with it, so no permission outlives what it names.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('content_permissions', (t) => {
    t.increments('id').primary();
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    t.integer('user_id').nullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('group_id').nullable().references('id').inTable('groups').onDelete('CASCADE');
    t.string('role', 16).notNullable();
    ts(t, 'created_time').notNullable();
    // Exactly one principal, and one grant per principal and item (NULLs never collide).
    t.check('(user_id is null) <> (group_id is null)', [], 'content_permissions_one_principal');
    t.check(`role in ('owner', 'viewer')`, [], 'content_permissions_role');
    t.unique(['content_id', 'user_id']);
    t.unique(['content_id', 'group_id']);
    // Listings ask "what is granted to this user, or to this user's groups".
    t.index(['user_id']);
    t.index(['group_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('content_permissions');
}
