import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Which render of a bundle: null for the default one (the deploy's, the one viewers get);
 * later, a key naming a variant (a schedule's parameters), as a string or `{ key }`.
 */
export type RenderVariant = null | string | { key: string };

// Under the bundle's own renders, so the default renders stay where they always were.
export const VARIANTS = 'variants';
export const VARIANT_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function variantKey(variant: RenderVariant): string | null {
  if (variant === null) return null;
  const key = typeof variant === 'string' ? variant : variant.key;
  if (!VARIANT_KEY.test(key)) throw new Error(`"${key}" cannot name a render variant: use up to 64 letters, digits, "-" and "_".`);
  return key;
}

// What the renders directory holds, and nothing else: `<guid>/<bundle>/<job>/` and
// `<guid>/<bundle>/variants/<key>/<job>/`, a job being published once its `.partial` is renamed.
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const BUNDLE = /^[1-9][0-9]{0,15}$/;
const JOB = /^render-[0-9a-z]{1,12}-[0-9a-f]{6}$/;

/** A new render job's key, time-ordered (the newest render of a place is the last by name). */
export function newRenderKey(): string {
  return `render-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * A finished render's directory, `outputPath` being relative to the renders directory as a
 * rendering keeps it; null for anything else: absolute, `..`, a `.partial` render under way,
 * or any path not of the renders' layout.
 */
export function renderDirOf(rendersDir: string, outputPath: string): string | null {
  const parts = outputPath.split('/');
  const [guid, bundle] = parts;
  const job = parts[parts.length - 1];
  if (!guid || !GUID.test(guid) || !bundle || !BUNDLE.test(bundle) || !job || !JOB.test(job)) return null;
  const variant = parts[3];
  const laidOut = parts.length === 3 || (parts.length === 5 && parts[2] === VARIANTS && variant !== undefined && VARIANT_KEY.test(variant));
  return laidOut ? path.join(rendersDir, ...parts) : null;
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
