import type { Logger } from 'pino';
import { addFreed, bundlesToPrune, NOTHING_FREED, type PrunePart } from '../../domain/retention.ts';
import type { BundleRepo } from '../../repositories/bundle-repo.ts';
import type { ContentRepo } from '../../repositories/content-repo.ts';
import type { BundleService } from '../bundles/bundle-service.ts';

export interface BundleRetentionDeps {
  bundles: Pick<BundleRepo, 'contentWithMoreThan' | 'listForContent' | 'inUse'>;
  content: Pick<ContentRepo, 'byId'>;
  /** The deletion the API's DELETE does (files, audit entry, the runtime told), if unused. */
  service: Pick<BundleService, 'prune'>;
  logger: Logger;
}

/**
 * Each item's bundles beyond its newest `keep` (bundlesToPrune: never the active one, one a
 * rendering or a running task uses, or one uploaded in the last day). One bundle that cannot
 * be removed is logged and skipped; the rest go on.
 */
export function bundleRetention(d: BundleRetentionDeps, keep: number): PrunePart {
  return {
    name: 'bundles',
    off: keep === 0 ? 'retention.bundlesPerItem is 0' : undefined,
    async prune(now) {
      let freed = NOTHING_FREED;
      for (const contentId of await d.bundles.contentWithMoreThan(keep)) {
        const c = await d.content.byId(contentId);
        if (!c) continue;
        const all = await d.bundles.listForContent(c.id);
        const doomed = new Set(bundlesToPrune(all, { keep, activeId: c.bundleId, inUse: await d.bundles.inUse(c.id), now }));
        for (const b of all.filter((x) => doomed.has(x.id))) {
          try {
            const f = await d.service.prune(c, b, keep);
            if (f) freed = addFreed(freed, f);
          } catch (err) {
            d.logger.warn({ err, content: c.guid, bundle: b.id }, 'retention: could not remove an old bundle; it is tried again tomorrow');
          }
        }
      }
      return freed;
    },
  };
}
