/** Free space of the file system the data directory is on. */
export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
  /** Free, as a percentage of the total (one decimal). */
  freePercent: number;
  /** Under a threshold of `health.*`: say so (the health check's warning, the status page's). */
  low: boolean;
}

/** `health.*`: free space under either is low; 0 turns that one off. */
export interface DiskThresholds {
  minFreeDiskPercent: number;
  minFreeDiskBytes: number;
}

/** Bytes in binary units with one decimal: `12.3 GiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** What `statfs` says of a file system, judged against the thresholds. */
export function diskSpaceOf(stats: { bavail: number; blocks: number; bsize: number }, t: DiskThresholds): DiskSpace {
  // bavail, not bfree: the blocks reserved for root are not Lectern's to fill.
  const freeBytes = stats.bavail * stats.bsize;
  const totalBytes = stats.blocks * stats.bsize;
  const freePercent = totalBytes > 0 ? Math.round((1000 * freeBytes) / totalBytes) / 10 : 0;
  const underPercent = t.minFreeDiskPercent > 0 && totalBytes > 0 && (100 * freeBytes) / totalBytes < t.minFreeDiskPercent;
  const underBytes = t.minFreeDiskBytes > 0 && freeBytes < t.minFreeDiskBytes;
  return { freeBytes, totalBytes, freePercent, low: underPercent || underBytes };
}

/** The health check's warning for low space, naming the thresholds it is under; null when it is not low. */
export function diskWarning(d: DiskSpace, t: DiskThresholds): string | null {
  if (!d.low) return null;
  const limits = [...(t.minFreeDiskPercent > 0 ? [`${t.minFreeDiskPercent}%`] : []), ...(t.minFreeDiskBytes > 0 ? [formatBytes(t.minFreeDiskBytes)] : [])].join(
    ' or ',
  );
  return `Low on disk space: ${formatBytes(d.freeBytes)} (${d.freePercent}%) free in the data directory, under ${limits}.`;
}
