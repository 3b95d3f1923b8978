import { randomInt } from 'node:crypto';
import { isUniqueViolation } from '../../db/values.ts';
import type { AppModeKinds } from '../../domain/app-modes.ts';
import type { Content } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { asId } from '../../domain/ids.ts';
import type { ReportRenderer, Variant } from '../../domain/reports.ts';
import type { Actor, User } from '../../domain/user.ts';
import type { RenderingRepo } from '../../repositories/rendering-repo.ts';
import type { VariantChanges, VariantRepo } from '../../repositories/variant-repo.ts';
import type { AccessPolicy } from '../access-policy.ts';
import type { AuditLog } from '../audit-log.ts';
import type { ContentService } from '../content-service.ts';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function newKey(): string {
  let k = '';
  for (let i = 0; i < 8; i++) k += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  return k;
}

/** A variant and the content it belongs to, as a caller may see them. */
export interface VariantOf {
  content: Content;
  variant: Variant;
}

/**
 * Variants of rendered content: every rendered item has a default one (made on first need);
 * parameterized reports may have saved ones with their own parameter values. A private
 * variant is seen by its owner and the people who manage the item only.
 */
export class VariantService {
  constructor(
    private readonly variants: VariantRepo,
    private readonly content: ContentService,
    private readonly access: AccessPolicy,
    private readonly modes: AppModeKinds,
    private readonly audit: AuditLog,
    private readonly renders: { renderings: RenderingRepo; renderer: Pick<ReportRenderer, 'discard'> },
  ) {}

  isRendered(c: Content): boolean {
    return this.modes.kindOf(c.appMode) === 'rendered';
  }

  /** The item's default variant, made if it has none yet (two callers at once get the same one). */
  async ensureDefault(c: Content): Promise<Variant> {
    const found = await this.variants.defaultOf(c.id);
    if (found) return found;
    try {
      return await this.variants.create({
        contentId: c.id,
        key: newKey(),
        name: 'default',
        isDefault: true,
        visibility: 'public',
        ownerId: null,
        params: null,
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const again = await this.variants.defaultOf(c.id);
      if (!again) throw err;
      return again;
    }
  }

  /** The item's variants the user may see; rendered content always lists its default. */
  async list(user: User | undefined, guid: string): Promise<VariantOf[]> {
    const c = await this.content.visible(user, guid);
    if (!this.isRendered(c)) return [];
    await this.ensureDefault(c);
    const manages = await this.access.canManage(user, c);
    return (await this.variants.forContent(c.id)).filter((v) => this.sees(user, manages, v)).map((variant) => ({ content: c, variant }));
  }

  /** A variant the user may see (404 otherwise, whether or not it exists). */
  async visible(user: User | undefined, rawId: unknown): Promise<VariantOf> {
    const id = asId(rawId);
    const v = id === undefined ? undefined : await this.variants.byId(id);
    const notFound = AppError.notFound('The requested variant does not exist.');
    if (!v) throw notFound;
    const c = await this.content.visibleById(user, v.contentId).catch(() => {
      throw notFound;
    });
    if (!this.sees(user, await this.access.canManage(user, c), v)) throw notFound;
    return { content: c, variant: v };
  }

  /** A variant the user may change: its item's managers, or the owner of a saved variant. */
  async manageable(user: User, rawId: unknown): Promise<VariantOf> {
    const found = await this.visible(user, rawId);
    if (!(await this.mayChange(user, found))) throw AppError.forbidden("You don't have permission to change this variant.");
    return found;
  }

  /** Whether `user` may see this variant of an item they can see (a private one: its owner and the item's managers). */
  async seenBy(user: User, { content, variant }: VariantOf): Promise<boolean> {
    return this.sees(user, await this.access.canManage(user, content), variant);
  }

  async mayChange(user: User, { content, variant }: VariantOf): Promise<boolean> {
    void variant;
    return this.access.canManage(user, content);
  }

  /** The variant of an item to render for the user (`key` null: the default), if they may. */
  async toRender(user: User, guid: string, key: string | null): Promise<VariantOf> {
    const c = await this.content.visible(user, guid);
    if (!this.isRendered(c)) throw AppError.badRequest(`Only rendered content (R Markdown, Jupyter, Quarto) can be rendered; this is ${c.appMode}.`);
    const v = key === null ? await this.ensureDefault(c) : await this.variants.byKey(c.id, key);
    if (!v) throw AppError.notFound('The requested variant does not exist.');
    return this.manageable(user, v.id);
  }

  async update(actor: Actor, user: User, rawId: unknown, changes: VariantChanges): Promise<Variant> {
    const { content, variant } = await this.manageable(user, rawId);
    if (variant.isDefault && changes.visibility === 'private') throw AppError.badRequest('The default variant is public.');
    if (variant.isDefault && changes.name !== undefined && changes.name !== variant.name) throw AppError.badRequest('The default variant is named "default".');
    await this.variants.update(variant.id, changes);
    await this.audit.record(actor, 'variant.update', { type: 'variant', id: String(variant.id) }, { content: content.guid, fields: Object.keys(changes) });
    return (await this.variants.byId(variant.id))!;
  }

  /** A saved variant of a report with its own parameter values (Lectern's own endpoint; no client makes one). */
  async create(
    actor: Actor,
    user: User,
    guid: string,
    input: { name: string; params: Record<string, unknown>; visibility: 'public' | 'private' },
  ): Promise<VariantOf> {
    const c = await this.content.visible(user, guid);
    if (!this.isRendered(c)) throw AppError.badRequest(`Only rendered content has variants; this is ${c.appMode}.`, 72);
    // Each variant is more renders of publisher code (on demand, on schedules): for the managers only.
    if (!(await this.access.canManage(user, c))) throw AppError.forbidden('Only the people who manage this content can save a variant of it.');
    await this.ensureDefault(c);
    const v = await this.variants.create({
      contentId: c.id,
      key: newKey(),
      name: input.name,
      isDefault: false,
      visibility: input.visibility,
      ownerId: user.id,
      params: input.params,
    });
    await this.audit.record(actor, 'variant.update', { type: 'variant', id: String(v.id) }, { content: c.guid, created: true });
    return { content: c, variant: v };
  }

  async remove(actor: Actor, user: User, rawId: unknown): Promise<void> {
    const { content, variant } = await this.manageable(user, rawId);
    if (variant.isDefault) throw AppError.badRequest('The default variant cannot be deleted.');
    // Renders first, so none can finish in between and leave its output behind.
    const outputs = await this.renders.renderings.deleteForVariant(variant.id);
    await this.variants.delete(variant.id);
    await this.audit.record(actor, 'variant.update', { type: 'variant', id: String(variant.id) }, { content: content.guid, deleted: true });
    for (const p of outputs) await this.renders.renderer.discard(p).catch(() => undefined);
  }

  private sees(user: User | undefined, manages: boolean, v: Variant): boolean {
    return v.visibility === 'public' || manages || (!!user && v.ownerId === user.id);
  }
}
