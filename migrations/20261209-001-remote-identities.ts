import type { Knex } from 'knex';

const ts = (t: Knex.CreateTableBuilder, name: string) => t.timestamp(name, { useTz: true });

// Logins from identity providers (LDAP, OIDC, SAML, a proxy's header). A Lectern user is linked
// to (provider, subject) at first login, so a renamed account stays the same user. Groups an
// identity provider reports are remote: `source` names the provider that keeps them (null: a
// group made in Lectern), and a membership synced from a provider names it too, so a sync
// removes only what it added.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('identities', (t) => {
    t.increments('id').primary();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('provider', 64).notNullable();
    t.string('subject', 1024).notNullable();
    ts(t, 'created_time').notNullable();
    ts(t, 'login_time').nullable();
    t.unique(['provider', 'subject']);
    t.index(['user_id']);
  });
  await knex.schema.alterTable('groups', (t) => {
    t.string('source', 64).nullable();
  });
  await knex.schema.alterTable('group_members', (t) => {
    t.string('source', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('group_members', (t) => t.dropColumn('source'));
  await knex.schema.alterTable('groups', (t) => t.dropColumn('source'));
  await knex.schema.dropTableIfExists('identities');
}
