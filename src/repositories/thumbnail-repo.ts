import type { Knex } from 'knex';
import { toDate } from '../db/values.ts';

export interface Thumbnail {
  contentId: number;
  /** Exactly as sniffed from the bytes when stored: served as the Content-Type. */
  mimeType: string;
  image: Buffer;
  updatedTime: Date;
}

type Row = Record<string, unknown>;

/** `content_thumbnails`: one image per content item, in the database so every server sees it. */
export class ThumbnailRepo {
  constructor(private readonly knex: Knex) {}

  async forContent(contentId: number): Promise<Thumbnail | undefined> {
    const r = (await this.knex('content_thumbnails').where({ content_id: contentId }).first()) as Row | undefined;
    if (!r) return undefined;
    // better-sqlite3 and pg both give a Buffer for a blob/bytea; a Uint8Array is copied into one.
    const image = Buffer.isBuffer(r.image) ? r.image : Buffer.from(r.image as Uint8Array);
    return { contentId, mimeType: String(r.mime_type), image, updatedTime: toDate(r.updated_time) };
  }

  /** Which of these items have an image (one query for a page of the catalog). */
  async which(contentIds: readonly number[]): Promise<Set<number>> {
    if (!contentIds.length) return new Set();
    const rows = (await this.knex('content_thumbnails').whereIn('content_id', contentIds).select('content_id')) as Row[];
    return new Set(rows.map((r) => Number(r.content_id)));
  }

  /** Replaces the item's image in one statement. */
  async set(contentId: number, mimeType: string, image: Buffer): Promise<void> {
    await this.knex('content_thumbnails')
      .insert({ content_id: contentId, mime_type: mimeType, image, updated_time: new Date() })
      .onConflict('content_id')
      .merge(['mime_type', 'image', 'updated_time']);
  }

  /** False when there was none. */
  async remove(contentId: number): Promise<boolean> {
    return (await this.knex('content_thumbnails').where({ content_id: contentId }).delete()) > 0;
  }
}
