import type { Knex } from 'knex';

// What a key may act on, and until when. `scope` null is a full key of its user;
// `content:<guid>` is a content process's key (read-only, that item and its viewers).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('api_keys', (t) => {
    t.string('scope', 64).nullable();
    t.timestamp('expires_at', { useTz: true }).nullable();
  });
  // Process keys made before scopes existed are full keys of the content's owner: revoke them.
  // Processes still running get a scoped key when they next start.
  await knex('api_keys').where('name', 'like', 'process:%').delete();
}

export async function down(knex: Knex): Promise<void> {
  await knex('api_keys').whereNotNull('scope').delete();
  await knex.schema.alterTable('api_keys', (t) => {
    t.dropColumn('scope');
    t.dropColumn('expires_at');
  });
}
