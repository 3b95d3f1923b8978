import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { addFreed, NOTHING_FREED, type Freed } from '../../src/domain/retention.ts';
import { treeSize } from '../files/tree-size.ts';
import { BUNDLE, GUID, VARIANT_KEY, VARIANTS } from './render-paths.ts';

/**
 * Whether render output may stay: `bundleId` null asks about the content item as a whole (is
 * it still there), a number about one of its bundles (is it, or a rendering of it, still there).
 */
export type KeepRenders = (contentGuid: string, bundleId: number | null) => Promise<boolean>;

const names = (dir: string) => readdir(dir).catch(() => [] as string[]);

async function removed(p: string): Promise<Freed> {
  const { files, bytes } = await treeSize(p);
  await rm(p, { recursive: true, force: true });
  return { rows: 0, files, bytes };
}

/**
 * Sweeps the renders directory (`<guid>/<bundle>/<job>/`, `<guid>/<bundle>/variants/<key>/<job>/`)
 * for output nothing can serve: an item's or a bundle's `keep` refuses (deleted, and no
 * rendering names it), and `<job>.partial` directories last written before `partialBefore`
 * (a render its server died in; a live one is bounded by the render timeout). Each rendering's
 * own history is the RenderService's to prune (reports.keepRenderings), not this.
 */
export async function pruneRenders(rendersDir: string, keep: KeepRenders, partialBefore: Date): Promise<Freed> {
  let freed = NOTHING_FREED;
  const stalePartials = async (dir: string) => {
    for (const n of (await names(dir)).filter((x) => x.endsWith('.partial'))) {
      const p = path.join(dir, n);
      const st = await stat(p).catch(() => undefined);
      if (st && st.mtime < partialBefore) freed = addFreed(freed, await removed(p));
    }
  };
  for (const guid of (await names(rendersDir)).filter((g) => GUID.test(g))) {
    const itemDir = path.join(rendersDir, guid);
    if (!(await keep(guid, null))) {
      freed = addFreed(freed, await removed(itemDir));
      continue;
    }
    for (const bundle of (await names(itemDir)).filter((b) => BUNDLE.test(b))) {
      const bundleDir = path.join(itemDir, bundle);
      if (!(await keep(guid, Number(bundle)))) {
        freed = addFreed(freed, await removed(bundleDir));
        continue;
      }
      await stalePartials(bundleDir);
      for (const key of (await names(path.join(bundleDir, VARIANTS))).filter((k) => VARIANT_KEY.test(k)))
        await stalePartials(path.join(bundleDir, VARIANTS, key));
    }
  }
  return freed;
}
