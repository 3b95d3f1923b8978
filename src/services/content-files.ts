import type { Bundle, Content } from '../domain/content.ts';
import type { Variant } from '../domain/reports.ts';
import { AppError } from '../domain/errors.ts';
import { asId, isGuid } from '../domain/ids.ts';
import type { User } from '../domain/user.ts';
import type { BundleRepo } from '../repositories/bundle-repo.ts';
import type { ContentRepo } from '../repositories/content-repo.ts';
import type { RenderingRepo } from '../repositories/rendering-repo.ts';
import type { VariantRepo } from '../repositories/variant-repo.ts';
import type { BundleStore } from './bundles/bundle-store.ts';
import type { AccessPolicy } from './access-policy.ts';
import { ShortCache } from './short-cache.ts';

export interface ServableBundle {
  content: Content;
  bundle: Bundle;
  dir: string;
}

/** A render to serve; `renderingId` and `variantKey` say which, for the usage a view records. */
export type RenderChoice = { outputPath: string; outputFile: string; variant: number; variantKey: string; renderingId: number } | 'newest';

export type Resolution =
  | { ok: true; target: ServableBundle }
  /** Anonymous and the item is not public: log in (the same answer whether or not it exists). */
  | { ok: false; reason: 'login' }
  | { ok: false; reason: 'not-found' }
  /** Locked (Connect's content lock): its message is served instead, and nothing runs. */
  | { ok: false; reason: 'locked'; content: Content };

/** Finds which bundle's files a request to `/content/{guid}/` should get, and whether it may. */
export class ContentFiles {
  private readonly cache: ShortCache<Resolution | { error: unknown }> | undefined;

  /** `generation`: the database's write count, to cache answers (the proxy asks on every request). */
  constructor(
    private readonly content: ContentRepo,
    private readonly bundles: BundleRepo,
    private readonly store: BundleStore,
    private readonly policy: AccessPolicy,
    private readonly reports: { variants: VariantRepo; renderings: RenderingRepo },
    generation?: () => number,
  ) {
    this.cache = generation ? new ShortCache(generation) : undefined;
  }

  /**
   * `draftId` set: the draft preview `/_bundle{id}/`, for the people who manage the item.
   * Otherwise the active bundle, for anyone whose role on the item is not `none`.
   */
  async resolve(user: User | undefined, guid: string, draftId: number | null): Promise<Resolution> {
    if (!this.cache) return this.resolveUncached(user, guid, draftId);
    const r = await this.cache.get(`${user?.id ?? '-'}/${guid}/${draftId ?? ''}`, () =>
      this.resolveUncached(user, guid, draftId).catch((error: unknown) => ({ error })),
    );
    if ('error' in r) throw r.error;
    return r;
  }

  private async resolveUncached(user: User | undefined, guid: string, draftId: number | null): Promise<Resolution> {
    const c = isGuid(guid) ? await this.content.byGuid(guid) : undefined;
    const allowed = !!c && (draftId === null ? await this.policy.canView(user, c) : await this.policy.canPreview(user, c));
    if (!c || !allowed) return user ? { ok: false, reason: 'not-found' } : { ok: false, reason: 'login' };
    // Decided here, before any bundle is chosen, so no path (gateway, pages, WebSocket, draft)
    // starts or reaches a process of a locked item; who may view it reads its message.
    if (c.locked) return { ok: false, reason: 'locked', content: c };
    const id = draftId ?? c.bundleId;
    const bundle = id === null || !asId(id) ? undefined : await this.bundles.byId(c.id, id);
    if (!bundle || !bundle.built) throw AppError.notFound(draftId === null ? 'This content has not been deployed yet.' : 'This draft has not been built.');
    return { ok: true, target: { content: c, bundle, dir: this.store.bundleDir(c.guid, bundle.id) } };
  }

  /**
   * Which render of a report a request gets: `/v{key}/` names a saved variant, `/_rev{id}/` a
   * past render (of that variant, else of any of the item's). Without either, the default
   * variant's current render. `newest` means: none recorded for the active bundle yet (content
   * deployed before render history existed), so the bundle's newest render directory.
   */
  async renderingOf(user: User | undefined, c: Content, variantKey: string | null, revId: number | null): Promise<RenderChoice> {
    const variant = variantKey === null ? await this.reports.variants.defaultOf(c.id) : await this.reports.variants.byKey(c.id, variantKey);
    if ((variantKey !== null && !variant) || (variant && (await this.hidden(user, c, variant))))
      throw AppError.notFound('The requested variant does not exist.');
    if (revId !== null) {
      const r = await this.reports.renderings.served(revId);
      const mine = r && r.contentId === c.id && (variantKey === null || r.variantId === variant!.id);
      // A past render is as private as the variant it is of, whichever address names it.
      const of = mine ? (r.variantId === variant?.id ? variant : await this.reports.variants.byId(r.variantId)) : undefined;
      if (!mine || !of || (await this.hidden(user, c, of)) || r.status !== 'succeeded' || !r.outputPath) {
        throw AppError.notFound('The requested rendering does not exist.');
      }
      return { outputPath: r.outputPath, outputFile: r.outputFile ?? 'index.html', variant: r.variantId, variantKey: of.key, renderingId: r.id };
    }
    const current = variant?.renderingId ? await this.reports.renderings.served(variant.renderingId) : undefined;
    if (variant && current?.outputPath && (variantKey !== null || current.bundleId === c.bundleId)) {
      return {
        outputPath: current.outputPath,
        outputFile: current.outputFile ?? 'index.html',
        variant: current.variantId,
        variantKey: variant.key,
        renderingId: current.id,
      };
    }
    if (variantKey !== null) throw AppError.notFound('This variant has not been rendered yet.');
    return 'newest';
  }

  // A private variant is its owner's and the item managers'.
  private async hidden(user: User | undefined, c: Content, v: Variant): Promise<boolean> {
    return v.visibility === 'private' && v.ownerId !== user?.id && !(await this.policy.canManage(user, c));
  }

  /** The active, built bundles of content that keeps processes running. For the server itself: no access check. */
  async keptWarm(defaultMinProcesses: number): Promise<ServableBundle[]> {
    const out: ServableBundle[] = [];
    for (const c of await this.content.keptWarm(defaultMinProcesses)) {
      const bundle = c.bundleId === null ? undefined : await this.bundles.byId(c.id, c.bundleId);
      if (bundle?.built) out.push({ content: c, bundle, dir: this.store.bundleDir(c.guid, bundle.id) });
    }
    return out;
  }

  /** Whether the proxy tells this user why the item's app failed (AccessPolicy). */
  showsFailureDetails(user: User | undefined, c: Content): boolean {
    return this.policy.seesFailureDetails(user, c);
  }

  /** A content item's current settings. For the server itself: no access check. */
  settingsOf(guid: string): Promise<Content | undefined> {
    return this.content.byGuid(guid);
  }

  manifest(bundle: Bundle) {
    return this.store.manifest(bundle);
  }
}
