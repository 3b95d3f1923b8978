import type { Knex } from 'knex';

// What each bundle's environment held when it was built (GET /v1/packages, .../packages,
// .../lockfile): one row per package and language. `managed` says whether the environment
// was restored for the bundle (environment management on), which a lockfile needs.
// Gone with the bundle.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bundle_packages', (t) => {
    t.increments('id').primary();
    t.integer('bundle_id').notNullable().references('id').inTable('bundles').onDelete('CASCADE');
    t.string('language', 16).notNullable();
    t.string('language_version', 64).notNullable();
    t.string('name', 255).notNullable();
    t.string('version', 255).notNullable();
    t.string('hash', 255).nullable();
    t.boolean('managed').notNullable().defaultTo(false);
    t.unique(['bundle_id', 'language', 'name']);
    t.index(['name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('bundle_packages');
}
