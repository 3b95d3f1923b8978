import type { Knex } from 'knex';

const ts = (t: Knex.AlterTableBuilder | Knex.CreateTableBuilder, name: string) => t.timestamp(name, { useTz: true });

// Content settings clients read and write by Connect's names (ContentItemV1). Null means
// "use the server default", as in Connect.
const NULLABLE_INT_SETTINGS = [
  'connection_timeout',
  'read_timeout',
  'init_timeout',
  'idle_timeout',
  'max_processes',
  'min_processes',
  'max_conns_per_process',
  'memory_request',
  'memory_limit',
] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('content', (t) => {
    for (const c of NULLABLE_INT_SETTINGS) t.bigInteger(c).nullable();
    t.float('load_factor').nullable();
    t.float('cpu_request').nullable();
    t.float('cpu_limit').nullable();
    t.string('default_image_name', 255).nullable();
    t.string('run_as', 64).nullable();
    t.boolean('run_as_current_user').notNullable().defaultTo(false);
    t.boolean('default_r_environment_management').nullable();
    t.boolean('default_py_environment_management').nullable();
    t.boolean('parameterized').notNullable().defaultTo(false);
  });

  await knex.schema.alterTable('bundles', (t) => {
    t.string('app_mode', 32).notNullable().defaultTo('unknown');
    t.string('primary_file', 1024).nullable();
    t.string('r_version', 32).nullable();
    t.string('py_version', 32).nullable();
    t.string('quarto_version', 32).nullable();
    t.string('archive_md5', 32).nullable();
    // Set when a deploy task built it successfully: only built bundles can be previewed.
    t.boolean('built').notNullable().defaultTo(false);
  });

  await knex.schema.alterTable('tasks', (t) => {
    // Finished tasks are kept until a client has read the end, then swept after a while.
    t.boolean('fetched').notNullable().defaultTo(false);
    t.boolean('activate').notNullable().defaultTo(true);
  });

  await knex.schema.createTable('content_environment', (t) => {
    t.integer('content_id').notNullable().references('id').inTable('content').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    // AES-256-GCM, base64 of iv | tag | ciphertext, bound to (content guid, name).
    t.text('value_encrypted').notNullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'updated_time').notNullable();
    t.primary(['content_id', 'name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('content_environment');
  await knex.schema.alterTable('tasks', (t) => {
    t.dropColumn('fetched');
    t.dropColumn('activate');
  });
  await knex.schema.alterTable('bundles', (t) => {
    for (const c of ['app_mode', 'primary_file', 'r_version', 'py_version', 'quarto_version', 'archive_md5', 'built']) t.dropColumn(c);
  });
  await knex.schema.alterTable('content', (t) => {
    for (const c of [
      ...NULLABLE_INT_SETTINGS,
      'load_factor',
      'cpu_request',
      'cpu_limit',
      'default_image_name',
      'run_as',
      'run_as_current_user',
      'default_r_environment_management',
      'default_py_environment_management',
      'parameterized',
    ]) {
      t.dropColumn(c);
    }
  });
}
