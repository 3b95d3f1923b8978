import type { Logger } from 'pino';
import type { UsageService } from './usage-service.ts';

const DAY_MS = 24 * 3600 * 1000;

/**
 * The daily prune of usage past its retention, as one of the scheduler's timed works (the
 * scheduler calls `run` every tick; this does the work once a day, first at start-up). Every
 * server may prune: a delete by time done twice removes nothing more.
 */
export function usageRetention(usage: UsageService, logger: Logger) {
  let last: number | undefined;
  return {
    name: 'usage-retention',
    async run(now: Date): Promise<void> {
      if (last !== undefined && now.getTime() - last < DAY_MS) return;
      last = now.getTime();
      const removed = await usage.prune(now);
      if (removed > 0) logger.info({ removed }, 'usage past its retention removed');
    },
  };
}
