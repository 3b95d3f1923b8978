import type { Knex } from 'knex';

// A scheduled slot renders once per attempt: the retry of a render whose server died keeps the
// slot's due time (its history and failure notice name the run it stands for), so the key that
// makes a slot claimable once takes the attempt too. The claim inserts attempt 1 only, so two
// servers still claim a slot once between them.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('renderings', (t) => {
    t.dropUnique(['schedule_id', 'due_time']);
    t.unique(['schedule_id', 'due_time', 'attempt']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex('renderings').where('attempt', '>', 1).whereNotNull('schedule_id').update({ due_time: null });
  await knex.schema.alterTable('renderings', (t) => {
    t.dropUnique(['schedule_id', 'due_time', 'attempt']);
    t.unique(['schedule_id', 'due_time']);
  });
}
