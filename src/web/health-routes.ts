import { Router } from 'express';
import { diskWarning, type DiskSpace, type DiskThresholds } from '../domain/disk-space.ts';

export interface HealthSources {
  checkDatabase(): Promise<boolean>;
  version: string;
  /** The data directory's free space (null: the file system would not say). */
  disk(): Promise<DiskSpace | null>;
  diskThresholds: DiskThresholds;
}

/**
 * Liveness for clients (`/__ping__`, connectapi's probe) and readiness for load balancers.
 * Only the database makes the health check fail (503): a server low on disk still serves, so
 * it says so in `warnings` for monitoring to alert on, and stays in the load balancer.
 */
export function healthRoutes(s: HealthSources): Router {
  const r = Router();
  r.get('/__ping__', (_req, res) => void res.json({}));
  r.get('/__health__', async (_req, res) => {
    const [database, disk] = await Promise.all([s.checkDatabase(), s.disk()]);
    const warnings: string[] = [];
    if (disk === null) warnings.push('The free space of the data directory could not be read.');
    else {
      const low = diskWarning(disk, s.diskThresholds);
      if (low) warnings.push(low);
    }
    res.status(database ? 200 : 503).json({
      status: database ? 'ok' : 'unavailable',
      database: database ? 'ok' : 'unreachable',
      version: s.version,
      disk: disk && { free_bytes: disk.freeBytes, total_bytes: disk.totalBytes, free_percent: disk.freePercent, low: disk.low },
      warnings,
    });
  });
  return r;
}
