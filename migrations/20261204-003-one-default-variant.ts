import type { Knex } from 'knex';

// An item has one default variant. Two first requests at once could each make one (the
// service's catch of a unique violation had no index to violate): a partial unique index makes
// the second insert fail, and the service then answers the first one's. Extra defaults made
// before the index stay as saved variants, keeping their renders and schedules.
export async function up(knex: Knex): Promise<void> {
  const extras = (await knex('variants as v')
    .where('v.is_default', true)
    .whereExists(function (this: Knex.QueryBuilder) {
      this.select(knex.raw('1')).from('variants as o').whereRaw('o.content_id = v.content_id').andWhere('o.is_default', true).andWhereRaw('o.id < v.id');
    })
    .select('v.id')) as { id: number }[];
  if (extras.length)
    await knex('variants')
      .whereIn(
        'id',
        extras.map((e) => Number(e.id)),
      )
      .update({ is_default: false });
  // SQLite stores booleans as 0/1 and PostgreSQL as boolean: `WHERE is_default` reads both.
  await knex.raw('CREATE UNIQUE INDEX variants_one_default ON variants (content_id) WHERE is_default');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX variants_one_default');
}
