import type { JobDirectory, JobLogEntry } from '../../src/domain/jobs.ts';
import type { RuntimeBackend } from '../backend.ts';
import { followJobLog } from './job-log.ts';
import type { JobStore } from './job-store.ts';

/** The jobs API's view of local jobs: their records and logs on disk, and kill through the backend. */
export function createJobDirectory(jobs: JobStore, backend: RuntimeBackend): JobDirectory {
  return {
    list: (guid) => jobs.list(guid),
    get: (guid, key) => jobs.get(guid, key),
    log: (guid, key) => backend.logs(guid, key),
    async kill(guid, key) {
      const job = await jobs.get(guid, key);
      if (!job || job.status !== 'running') return false;
      await backend.stop(key);
      return true;
    },
    prune: (endedBefore) => jobs.prune(endedBefore),
    follow(guid, key, signal): AsyncIterable<JobLogEntry> {
      // Across a rotation of the log (job-log.ts); until the job's record says it has ended.
      return followJobLog(jobs.logFiles(guid, key), async () => (await jobs.get(guid, key))?.status === 'running', signal);
    },
  };
}
