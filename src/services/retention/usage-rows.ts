import type { PrunePart } from '../../domain/retention.ts';
import type { UsageService } from '../usage/usage-service.ts';

/** Usage (visits, Shiny sessions, hits) older than `usage.retentionDays` (UsageService.prune). */
export function usageRetention(usage: Pick<UsageService, 'prune'>, retentionDays: number): PrunePart {
  return {
    name: 'usage',
    off: retentionDays === 0 ? 'usage.retentionDays is 0' : undefined,
    async prune(now) {
      return { rows: await usage.prune(now), files: 0, bytes: 0 };
    },
  };
}
