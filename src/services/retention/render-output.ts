import type { PrunePart } from '../../domain/retention.ts';
import type { ReportRenderer } from '../../domain/reports.ts';
import type { BundleRepo } from '../../repositories/bundle-repo.ts';
import type { ContentRepo } from '../../repositories/content-repo.ts';

export interface RenderOutputDeps {
  renderer: Pick<ReportRenderer, 'prune'>;
  content: Pick<ContentRepo, 'byGuid'>;
  bundles: Pick<BundleRepo, 'byId' | 'inUse'>;
}

/**
 * Render output nothing can serve any more: that of deleted content and of deleted bundles no
 * rendering names (the bundles part's among them), and renders a dead server left half-written.
 * The history of each variant is not this part's: the RenderService prunes it to
 * `reports.keepRenderings` after every render. Always on: none of it is reachable.
 */
export function renderOutputRetention(d: RenderOutputDeps): PrunePart {
  return {
    name: 'render-output',
    prune(now) {
      const items = new Map<string, number | null>();
      return d.renderer.prune(now, async (guid, bundleId) => {
        if (!items.has(guid)) items.set(guid, (await d.content.byGuid(guid))?.id ?? null);
        const contentId = items.get(guid)!;
        if (contentId === null) return false;
        if (bundleId === null) return true;
        // Asked after the directory was listed, so a bundle made meanwhile is found.
        return !!(await d.bundles.byId(contentId, bundleId)) || (await d.bundles.inUse(contentId)).has(bundleId);
      });
    },
  };
}
