import { statfs } from 'node:fs/promises';
import { diskSpaceOf, type DiskSpace, type DiskThresholds } from '../domain/disk-space.ts';

/** The data directory's free space against `health.*`; null when the file system would not say. */
export async function readDiskSpace(dir: string, thresholds: DiskThresholds): Promise<DiskSpace | null> {
  try {
    return diskSpaceOf(await statfs(dir), thresholds);
  } catch {
    return null;
  }
}
