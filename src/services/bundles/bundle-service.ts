import type { Actor } from '../../domain/user.ts';
import type { AuditLog } from '../audit-log.ts';
import type { Bundle, Content } from '../../domain/content.ts';
import type { ContentEvents } from '../../domain/deploy.ts';
import { AppError, ErrorCode } from '../../domain/errors.ts';
import { asId } from '../../domain/ids.ts';
import type { User } from '../../domain/user.ts';
import type { BundleRepo } from '../../repositories/bundle-repo.ts';
import type { ContentService } from '../content-service.ts';
import type { TaskService } from '../tasks/task-service.ts';
import type { BundleStore } from './bundle-store.ts';
import type { Freed } from '../../domain/retention.ts';

// The daily prune acts for no user.
const SYSTEM: Actor = { userId: null, via: 'system' };

function bundleId(raw: unknown): number {
  const id = asId(raw);
  if (id === undefined) throw AppError.notFound('The requested bundle does not exist.');
  return id;
}

/** A content item's bundles, for the people who deploy it (AccessPolicy, through ContentService). */
export class BundleService {
  constructor(
    private readonly content: ContentService,
    private readonly bundles: BundleRepo,
    private readonly store: BundleStore,
    private readonly tasks: TaskService,
    private readonly events: ContentEvents,
    private readonly audit: AuditLog,
  ) {}

  async list(user: User, guid: string): Promise<{ content: Content; bundles: Bundle[] }> {
    const c = await this.content.deployable(user, guid);
    return { content: c, bundles: await this.bundles.listForContent(c.id) };
  }

  /** One bundle of an item: 404 for an unknown or malformed id. */
  async find(user: User, guid: string, rawId: unknown): Promise<{ content: Content; bundle: Bundle }> {
    const c = await this.content.deployable(user, guid);
    const b = await this.bundles.byId(c.id, bundleId(rawId));
    if (!b) throw AppError.notFound('The requested bundle does not exist.');
    return { content: c, bundle: b };
  }

  /** Deletes a bundle that is neither active nor being deployed; the runtime frees what ran it. */
  async delete(actor: Actor, user: User, guid: string, rawId: unknown): Promise<void> {
    const { content: c, bundle: b } = await this.find(user, guid, rawId);
    if (c.bundleId === b.id) throw AppError.conflict('This bundle is active: activate another one before deleting it.', ErrorCode.deleteActiveBundle);
    if (await this.tasks.busy(b.id)) throw AppError.conflict('A deploy of this bundle is running: wait for it to finish.', 25);
    await this.store.remove(c, b);
    await this.deleted(actor, c, b, {});
  }

  /**
   * The daily prune's deletion of a bundle it chose (retention.bundlesPerItem): as a deletion
   * through the API (audited, the runtime told so it frees what ran it), but only if nothing
   * uses the bundle at that moment. Null: something did, and it stays.
   */
  async prune(c: Content, b: Bundle, kept: number): Promise<Freed | null> {
    const freed = await this.store.removeUnused(c, b);
    if (freed) await this.deleted(SYSTEM, c, b, { reason: 'retention', kept });
    return freed;
  }

  private async deleted(actor: Actor, c: Content, b: Bundle, details: Record<string, unknown>): Promise<void> {
    await this.audit.record(actor, 'bundle.delete', { type: 'content', id: c.guid }, { bundle_id: b.id, ...details });
    this.events.bundleDeleted(c.guid, b.id);
  }
}
