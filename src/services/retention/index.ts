import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { JobDirectory } from '../../domain/jobs.ts';
import type { ReportRenderer } from '../../domain/reports.ts';
import type { AuditRepo } from '../../repositories/audit-repo.ts';
import type { BundleRepo } from '../../repositories/bundle-repo.ts';
import type { ContentRepo } from '../../repositories/content-repo.ts';
import type { TaskRepo } from '../../repositories/task-repo.ts';
import type { TimedWorkRepo } from '../../repositories/timed-work-repo.ts';
import type { AuditLog } from '../audit-log.ts';
import type { BundleService } from '../bundles/bundle-service.ts';
import type { BundleStore } from '../bundles/bundle-store.ts';
import type { UsageService } from '../usage/usage-service.ts';
import { auditRetention } from './audit-entries.ts';
import { DailyPrune } from './daily-prune.ts';
import { jobLogRetention } from './job-logs.ts';
import { bundleRetention } from './old-bundles.ts';
import { renderOutputRetention } from './render-output.ts';
import { taskLogRetention } from './task-logs.ts';
import { uploadRetention } from './upload-leftovers.ts';
import { usageRetention } from './usage-rows.ts';

const DAY_MS = 24 * 3600 * 1000;

export interface RetentionDeps {
  config: Pick<Config, 'retention' | 'usage'>;
  repos: { tasks: TaskRepo; audit: AuditRepo; bundles: BundleRepo; content: ContentRepo };
  timedWork: TimedWorkRepo;
  /** This server, as the day's claim names it. */
  serverId: string;
  audit: AuditLog;
  bundles: BundleService;
  store: BundleStore;
  usage: UsageService;
  /** The runtime's jobs and renders (wired in the composition root). */
  jobs: JobDirectory;
  renderer: ReportRenderer;
  logger: Logger;
}

/**
 * The daily prune with its parts in order: the database's first (claimed by one server a
 * day), bundles before render output so a pruned bundle's renders go the same day.
 */
export function createRetention(d: RetentionDeps): DailyPrune {
  const r = d.config.retention;
  return new DailyPrune(
    {
      shared: [
        taskLogRetention(d.repos.tasks, r.taskLogDays),
        bundleRetention({ bundles: d.repos.bundles, content: d.repos.content, service: d.bundles, logger: d.logger }, r.bundlesPerItem),
        auditRetention(d.repos.audit, d.audit, r.auditDays),
        usageRetention(d.usage, d.config.usage.retentionDays),
      ],
      local: [
        jobLogRetention(d.jobs, r.jobLogDays),
        renderOutputRetention({ renderer: d.renderer, content: d.repos.content, bundles: d.repos.bundles }),
        uploadRetention(d.store, r.tmpHours),
      ],
    },
    (now) => d.timedWork.claim('retention', now, DAY_MS, d.serverId),
    d.logger,
  );
}
