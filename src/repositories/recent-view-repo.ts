import type { Knex } from 'knex';

/** How many items each user's "Recently viewed" keeps. */
const KEEP = 100;

/** When each user last opened each item's page (the catalog's "Recently viewed"). */
export class RecentViewRepo {
  constructor(private readonly knex: Knex) {}

  /** Notes a visit (the newest time wins) and trims the user's list to its newest KEEP items. */
  async record(userId: number, contentId: number, at: Date): Promise<void> {
    await this.knex('recent_views')
      .insert({ user_id: userId, content_id: contentId, viewed_time: at })
      .onConflict(['user_id', 'content_id'])
      .merge(['viewed_time']);
    const older = this.knex('recent_views')
      .select('content_id')
      .where('user_id', userId)
      .orderBy('viewed_time', 'desc')
      .orderBy('content_id', 'desc')
      .offset(KEEP);
    await this.knex('recent_views').where('user_id', userId).whereIn('content_id', older).delete();
  }
}
