import type { Freed } from './retention.ts';

/** A process or render run for a content item, as the jobs API shows it. */
export interface JobInfo {
  key: string;
  contentGuid: string;
  bundleId: number;
  kind: 'process' | 'render';
  /** What it was started for: `deploy`, `request`, `render`. */
  tag: string;
  hostname: string;
  pid: number | null;
  startTime: string;
  endTime: string | null;
  exitCode: number | null;
  status: 'running' | 'exited' | 'failed' | 'killed' | 'lost';
  /** The Swarm task a replica runs as: how a restarted server finds the job again. */
  task?: string;
}

export interface JobLogEntry {
  timestamp: string;
  source: 'stdout' | 'stderr';
  data: string;
}

/** The jobs of a content item: implemented by the runtimes layer, served by the API. */
export interface JobDirectory {
  list(contentGuid: string): Promise<JobInfo[]>;
  get(contentGuid: string, key: string): Promise<JobInfo | undefined>;
  log(contentGuid: string, key: string): Promise<JobLogEntry[]>;
  /** New log entries as they are written, until the job ends or the signal aborts. */
  follow(contentGuid: string, key: string, signal: AbortSignal): AsyncIterable<JobLogEntry>;
  kill(contentGuid: string, key: string): Promise<boolean>;
  /** The daily prune: removes the jobs (record and log) that ended before `endedBefore`; a running one never. */
  prune(endedBefore: Date): Promise<Freed>;
}
