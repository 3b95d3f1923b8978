import type { Knex } from 'knex';

/** Claims of timed work shared by every server on the database (table `timed_work`). */
export class TimedWorkRepo {
  constructor(private readonly knex: Knex) {}

  /**
   * Takes the run of `name` due at `now` for `serverId` when none was claimed in the `everyMs`
   * before: true for exactly one of the servers asking. One conditional UPDATE: PostgreSQL
   * re-checks its WHERE on the row a concurrent claim just changed, and SQLite has one writer.
   */
  async claim(name: string, now: Date, everyMs: number, serverId: string): Promise<boolean> {
    await this.knex('timed_work').insert({ name, last_run: null, server_id: null }).onConflict('name').ignore();
    const n = await this.knex('timed_work')
      .where({ name })
      .andWhere((q) => q.whereNull('last_run').orWhere('last_run', '<=', new Date(now.getTime() - everyMs)))
      .update({ last_run: now, server_id: serverId });
    return n === 1;
  }
}
