import type { Knex } from 'knex';

// Timestamps are timezone-aware in PostgreSQL; SQLite stores what knex gives it (epoch ms).
const ts = (t: Knex.CreateTableBuilder, name: string) => t.timestamp(name, { useTz: true });

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary();
    t.uuid('guid').notNullable().unique();
    t.string('username', 64).notNullable();
    // Lower-cased username: logins and uniqueness ignore case, display keeps it.
    t.string('username_key', 64).notNullable().unique();
    t.string('email', 320).notNullable().defaultTo('');
    t.string('first_name', 128).notNullable().defaultTo('');
    t.string('last_name', 128).notNullable().defaultTo('');
    t.string('user_role', 16).notNullable();
    t.text('password_hash').nullable();
    t.boolean('must_change_password').notNullable().defaultTo(false);
    t.boolean('locked').notNullable().defaultTo(false);
    t.boolean('confirmed').notNullable().defaultTo(true);
    ts(t, 'created_time').notNullable();
    ts(t, 'updated_time').notNullable();
    ts(t, 'active_time').nullable();
  });

  await knex.schema.createTable('groups', (t) => {
    t.increments('id').primary();
    t.uuid('guid').notNullable().unique();
    t.string('name', 128).notNullable().unique();
    t.integer('owner_id').nullable().references('id').inTable('users').onDelete('SET NULL');
    ts(t, 'created_time').notNullable();
    ts(t, 'updated_time').notNullable();
  });

  await knex.schema.createTable('group_members', (t) => {
    t.integer('group_id').notNullable().references('id').inTable('groups').onDelete('CASCADE');
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.primary(['group_id', 'user_id']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('api_keys', (t) => {
    t.increments('id').primary();
    t.uuid('guid').notNullable().unique();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('name', 128).notNullable();
    // SHA-256 of the key: keys are long random strings, so a fast hash is enough to make a
    // stolen table useless while keeping the per-request lookup a single indexed read.
    t.string('key_hash', 64).notNullable().unique();
    t.string('hint', 8).notNullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'last_used_time').nullable();
    t.index(['user_id']);
  });

  await knex.schema.createTable('sessions', (t) => {
    t.string('sid', 128).primary();
    t.integer('user_id').nullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('data').notNullable();
    ts(t, 'expires_at').notNullable().index();
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    ts(t, 'time').notNullable().index();
    // No foreign key: the record of what a user did outlives the user.
    t.integer('actor_user_id').nullable().index();
    t.string('action', 64).notNullable().index();
    t.string('target_type', 32).nullable();
    t.string('target_id', 64).nullable();
    t.string('ip', 64).nullable();
    t.text('details').notNullable().defaultTo('{}');
  });

  // Content, bundles and tasks: the publishing issue fills these in.
  await knex.schema.createTable('content', (t) => {
    t.increments('id').primary();
    t.uuid('guid').notNullable().unique();
    t.string('name', 64).notNullable().unique();
    t.string('title', 1024).nullable();
    t.text('description').notNullable().defaultTo('');
    t.integer('owner_id').notNullable().references('id').inTable('users');
    t.string('app_mode', 32).notNullable().defaultTo('unknown');
    t.string('content_category', 32).notNullable().defaultTo('');
    t.string('access_type', 16).notNullable().defaultTo('acl');
    t.integer('bundle_id').nullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'updated_time').notNullable();
    ts(t, 'last_deployed_time').nullable();
    t.index(['owner_id']);
  });

  await knex.schema.createTable('bundles', (t) => {
    t.increments('id').primary();
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    t.integer('uploaded_by').nullable().references('id').inTable('users').onDelete('SET NULL');
    t.bigInteger('size').notNullable().defaultTo(0);
    t.text('manifest').nullable();
    t.text('metadata').notNullable().defaultTo('{}');
    ts(t, 'created_time').notNullable();
    t.index(['content_id']);
  });

  await knex.schema.createTable('tasks', (t) => {
    t.string('id', 64).primary();
    t.integer('content_id').nullable().references('id').inTable('content').onDelete('CASCADE');
    t.integer('bundle_id').nullable().references('id').inTable('bundles').onDelete('SET NULL');
    t.integer('user_id').nullable().references('id').inTable('users').onDelete('SET NULL');
    t.string('kind', 32).notNullable();
    t.boolean('finished').notNullable().defaultTo(false);
    t.integer('code').notNullable().defaultTo(0);
    t.text('error').notNullable().defaultTo('');
    t.text('result').nullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'finished_time').nullable();
    t.index(['content_id']);
  });

  await knex.schema.createTable('task_output', (t) => {
    t.string('task_id', 64).notNullable().references('id').inTable('tasks').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.text('line').notNullable();
    ts(t, 'time').notNullable();
    t.primary(['task_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['task_output', 'tasks', 'bundles', 'content', 'audit_log', 'sessions', 'api_keys', 'group_members', 'groups', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
