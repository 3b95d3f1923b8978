import type { JobDirectory } from '../../domain/jobs.ts';
import { daysBefore, type PrunePart } from '../../domain/retention.ts';

/** Jobs (a process's or render's record and log, `<dataDir>/jobs`) that ended more than `days` ago; a running one never. */
export function jobLogRetention(jobs: Pick<JobDirectory, 'prune'>, days: number): PrunePart {
  return {
    name: 'job-logs',
    off: days === 0 ? 'retention.jobLogDays is 0' : undefined,
    prune: (now) => jobs.prune(daysBefore(now, days)),
  };
}
