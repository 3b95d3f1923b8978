/** What one part of the daily prune freed: database rows, and files with their bytes on disk. */
export interface Freed {
  rows: number;
  files: number;
  bytes: number;
}

export const NOTHING_FREED: Freed = Object.freeze({ rows: 0, files: 0, bytes: 0 });

export function addFreed(a: Freed, b: Freed): Freed {
  return { rows: a.rows + b.rows, files: a.files + b.files, bytes: a.bytes + b.bytes };
}

/**
 * One kind of thing the daily prune removes (task logs, bundles, audit rows ...). `off` says
 * which setting keeps everything of that kind, and then `prune` is not called.
 */
export interface PrunePart {
  name: string;
  off?: string | undefined;
  prune(now: Date): Promise<Freed>;
}

const DAY_MS = 24 * 3600 * 1000;

/** The instant before which things `days` old go (`days` > 0). */
export function daysBefore(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

export function hoursBefore(now: Date, hours: number): Date {
  return new Date(now.getTime() - hours * 3600 * 1000);
}

/**
 * A bundle uploaded this recently is never pruned, whatever `keep` says: it may be a draft
 * someone is previewing, or an upload whose deploy has not been asked for yet (rsconnect
 * uploads, then deploys in a second request; neither is recorded anywhere a prune could see).
 */
export const BUNDLE_MIN_AGE_MS = DAY_MS;

export interface BundleAge {
  id: number;
  createdTime: Date;
}

export interface BundleKeepRules {
  /** The newest this many are kept (ids grow with uploads). */
  keep: number;
  /** The item's active bundle: always kept. */
  activeId: number | null;
  /** Bundles something still uses (a rendering, a running deploy): kept. */
  inUse: ReadonlySet<number>;
  now: Date;
}

/**
 * Which of an item's bundles the prune removes: those beyond the newest `keep`, except the
 * active one, one in use, and one younger than BUNDLE_MIN_AGE_MS. The kept ones do not count
 * against `keep`: an item rolled back to an old bundle keeps it and its newest `keep`.
 */
export function bundlesToPrune(bundles: readonly BundleAge[], rules: BundleKeepRules): number[] {
  if (rules.keep <= 0) return [];
  const youngFrom = rules.now.getTime() - BUNDLE_MIN_AGE_MS;
  return [...bundles]
    .sort((a, b) => b.id - a.id)
    .slice(rules.keep)
    .filter((b) => b.id !== rules.activeId && !rules.inUse.has(b.id) && b.createdTime.getTime() <= youngFrom)
    .map((b) => b.id)
    .sort((a, b) => a - b);
}
