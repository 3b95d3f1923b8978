import type { Knex } from 'knex';
import { toDate } from '../db/values.ts';

export interface Vanity {
  contentId: number;
  contentGuid: string;
  path: string;
  createdTime: Date;
}

interface Row {
  content_id: number;
  guid: string;
  path: string;
  created_time: unknown;
}

const toVanity = (r: Row): Vanity => ({ contentId: Number(r.content_id), contentGuid: r.guid, path: r.path, createdTime: toDate(r.created_time) });

export class VanityRepo {
  constructor(private readonly knex: Knex) {}

  private base() {
    return this.knex('vanities')
      .join('content', 'content.id', 'vanities.content_id')
      .select('vanities.content_id', 'content.guid', 'vanities.path', 'vanities.created_time');
  }

  async all(): Promise<Vanity[]> {
    return ((await this.base().orderBy('vanities.path')) as Row[]).map(toVanity);
  }

  async forContent(contentId: number): Promise<Vanity | undefined> {
    const row = (await this.base().where('vanities.content_id', contentId).first()) as Row | undefined;
    return row && toVanity(row);
  }

  /**
   * Sets the item's path (replacing its old one). `takeOver`: whichever item holds the path
   * loses it in the same transaction, so the path is never served by neither or by both.
   */
  async set(contentId: number, path: string, takeOver = false): Promise<void> {
    await this.knex.transaction(async (trx) => {
      if (takeOver) await trx('vanities').where({ path }).whereNot({ content_id: contentId }).delete();
      await trx('vanities').insert({ content_id: contentId, path, created_time: new Date() }).onConflict('content_id').merge(['path', 'created_time']);
    });
  }

  async remove(contentId: number): Promise<boolean> {
    return (await this.knex('vanities').where({ content_id: contentId }).delete()) > 0;
  }
}
