import type { Content } from '../domain/content.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { sniffImageType } from '../domain/image-type.ts';
import type { Actor, User } from '../domain/user.ts';
import type { Thumbnail, ThumbnailRepo } from '../repositories/thumbnail-repo.ts';
import type { AuditLog } from './audit-log.ts';
import type { ContentService } from './content-service.ts';

/** The largest thumbnail accepted (the route's body limit; larger is a 413). */
export const THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Content thumbnails (connect-api-next.md §2): whoever manages an item sets or removes its
 * image; whoever may view the item gets it at `/content/{guid}/__thumbnail__` (the proxy's
 * content router, which checks that access). The type is sniffed from the bytes, never taken
 * from the request, and only images are kept.
 */
export class ThumbnailService {
  constructor(
    private readonly thumbnails: ThumbnailRepo,
    private readonly content: ContentService,
    private readonly audit: AuditLog,
  ) {}

  async set(actor: Actor, user: User, guid: string, bytes: Buffer): Promise<void> {
    const c = await this.content.manageable(user, guid);
    if (bytes.length > THUMBNAIL_MAX_BYTES) throw new AppError(413, ErrorCode.invalidParameter, 'A thumbnail may be at most 2 MB.');
    const type = sniffImageType(bytes);
    if (!type) throw AppError.badRequest('The thumbnail must be a PNG, JPEG, GIF, WebP or SVG image.');
    await this.thumbnails.set(c.id, type, bytes);
    await this.audit.record(actor, 'thumbnail.update', { type: 'content', id: c.guid }, { mime_type: type, bytes: bytes.length });
  }

  /** 404 with code 17 when there is none: connectapi takes exactly that as "already gone". */
  async remove(actor: Actor, user: User, guid: string): Promise<void> {
    const c = await this.content.manageable(user, guid);
    if (!(await this.thumbnails.remove(c.id))) {
      throw AppError.notFound('The requested item could not be removed because it does not exist.', ErrorCode.removeNothing);
    }
    await this.audit.record(actor, 'thumbnail.delete', { type: 'content', id: c.guid });
  }

  /** The item's image. For a caller that has already checked the viewer may see the item. */
  of(c: Content): Promise<Thumbnail | undefined> {
    return this.thumbnails.forContent(c.id);
  }
}
