import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobDirectory, JobLogEntry } from '../../src/domain/jobs.ts';
import type { RuntimeBackend } from '../runtime.ts';
import type { JobStore } from './job-store.ts';

const FOLLOW_POLL_MS = 250;

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
    async *follow(guid, key, signal): AsyncIterable<JobLogEntry> {
      const file = jobs.logPath(guid, key);
      let offset = 0;
      let partial = '';
      while (!signal.aborted) {
        const size = await stat(file).then((s) => s.size, () => 0);
        if (size > offset) {
          const fh = await open(file, 'r');
          try {
            const buf = Buffer.alloc(size - offset);
            await fh.read(buf, 0, buf.length, offset);
            offset = size;
            const text = partial + buf.toString('utf8');
            const lines = text.split('\n');
            partial = lines.pop() ?? '';
            for (const l of lines) {
              if (!l) continue;
              let e: { t: string; s: 'stdout' | 'stderr'; d: string };
              try {
                e = JSON.parse(l) as typeof e;
              } catch {
                continue;
              }
              yield { timestamp: e.t, source: e.s, data: e.d };
            }
          } finally {
            await fh.close();
          }
          continue;
        }
        const job = await jobs.get(guid, key);
        if (!job || job.status !== 'running') return;
        await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
      }
    },
  };
}
