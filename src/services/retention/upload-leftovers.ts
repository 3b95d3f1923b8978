import { lstat, rm } from 'node:fs/promises';
import { addFreed, hoursBefore, NOTHING_FREED, type PrunePart } from '../../domain/retention.ts';
import type { BundleStore } from '../bundles/bundle-store.ts';
import { treeSize } from '../tree-size.ts';

/**
 * Uploads left in `<dataDir>/tmp`, and staging directories of ingests cut short, last written
 * more than `hours` ago. One in progress is never among them: an upload is written to until it
 * ends (and a request lasts minutes at most), and the store leaves out what an ingest here is
 * working on.
 */
export function uploadRetention(store: Pick<BundleStore, 'leftovers'>, hours: number): PrunePart {
  return {
    name: 'uploads',
    async prune(now) {
      const before = hoursBefore(now, hours);
      let freed = NOTHING_FREED;
      for (const p of await store.leftovers()) {
        const st = await lstat(p).catch(() => undefined);
        if (!st || st.mtime >= before) continue;
        const { files, bytes } = await treeSize(p);
        await rm(p, { recursive: true, force: true });
        freed = addFreed(freed, { rows: 0, files, bytes });
      }
      return freed;
    },
  };
}
