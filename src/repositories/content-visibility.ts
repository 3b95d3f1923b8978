import type { Knex } from 'knex';

/**
 * Narrows a query on `content` to the items a (non-administrator) user may see in listings:
 * owned, shared with everyone logged in, or granted to them or a group of theirs. EXISTS rather
 * than a join: an item granted several ways is still one row.
 */
export function visibleTo(knex: Knex, b: Knex.QueryBuilder, userId: number): void {
  b.where((w) =>
    w
      .where('content.owner_id', userId)
      .orWhereIn('content.access_type', ['all', 'logged_in'])
      .orWhereExists((p) =>
        p
          .select(knex.raw('1'))
          .from('content_permissions as p')
          .whereRaw('p.content_id = content.id')
          .andWhere((who) => who.where('p.user_id', userId).orWhereIn('p.group_id', knex('group_members').select('group_id').where('user_id', userId))),
      ),
  );
}

/** A LIKE pattern for a substring, with the wildcards in it escaped (pair with `escape '\'`). */
export function containsPattern(s: string): string {
  return `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
