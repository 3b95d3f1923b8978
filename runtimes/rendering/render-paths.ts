import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Which render of a bundle: null for the default one (the deploy's, the one viewers get);
 * later, a key naming a variant (a schedule's parameters), as a string or `{ key }`.
 */
export type RenderVariant = null | string | { key: string };

// Under the bundle's own renders, so the default renders stay where they always were.
const VARIANTS = 'variants';
const VARIANT_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function variantKey(variant: RenderVariant): string | null {
  if (variant === null) return null;
  const key = typeof variant === 'string' ? variant : variant.key;
  if (!VARIANT_KEY.test(key)) throw new Error(`"${key}" cannot name a render variant: use up to 64 letters, digits, "-" and "_".`);
  return key;
}

/** The directory that holds a bundle's renders of one variant, one directory per render job. */
export function rendersOf(rendersDir: string, contentGuid: string, bundleId: number, variant: RenderVariant): string {
  const bundleRenders = path.join(rendersDir, contentGuid, String(bundleId));
  const key = variantKey(variant);
  return key === null ? bundleRenders : path.join(bundleRenders, VARIANTS, key);
}

/** The newest finished render in `dir` (see rendersOf), or null if it has none. */
export async function newestRender(dir: string): Promise<string | null> {
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => !n.endsWith('.partial') && n !== VARIANTS).sort();
  } catch {
    return null;
  }
  const newest = names[names.length - 1];
  return newest ? path.join(dir, newest) : null;
}
