import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { JobInfo, JobLogEntry } from '../../src/domain/jobs.ts';
import { addFreed, NOTHING_FREED, type Freed } from '../../src/domain/retention.ts';
import { treeSize } from '../files/tree-size.ts';
import { currentLogSize, JobLogWriter, logFiles, readJobLog, type LogFiles } from './job-log.ts';

const JOB_KEY = /^[A-Za-z0-9-]{1,64}$/;
const GUID = /^[0-9a-f-]{36}$/i;

export interface JobWriter {
  /** Queues one output line (cut to a maximum by the caller's splitter); false: pause the source until drain(). */
  line(source: 'stdout' | 'stderr', text: string): boolean;
  /** Resolves once the log has caught up enough for the source to go on. */
  drain(): Promise<void>;
  setPid(pid: number | null): Promise<void>;
  finish(exitCode: number | null, status: JobInfo['status']): Promise<void>;
}

/**
 * Jobs on disk: `<dataDir>/jobs/<content guid>/<key>/job.json` (what, when, exit code) and
 * `log.jsonl` (one `{t, s, d}` per output line, rotated to `log.1.jsonl` at 16 MB: job-log.ts).
 * Files, not database rows: a job's output is written as fast as the process prints, and local
 * processes belong to this node anyway.
 */
export class JobStore {
  constructor(private readonly root: string) {}

  private dir(guid: string, key: string) {
    if (!JOB_KEY.test(key) || !GUID.test(guid)) throw new Error(`not a job: ${guid}/${key}`);
    return path.join(this.root, guid, key);
  }

  static isKey(key: string): boolean {
    return JOB_KEY.test(key);
  }

  private async writeInfo(info: JobInfo) {
    const file = path.join(this.dir(info.contentGuid, info.key), 'job.json');
    // A temporary name of its own per write: the pid and the exit can be recorded at once.
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(info), { mode: 0o600 });
    await rename(tmp, file);
  }

  async create(info: Omit<JobInfo, 'hostname' | 'startTime' | 'endTime' | 'exitCode' | 'status' | 'pid'>): Promise<JobWriter> {
    const dir = this.dir(info.contentGuid, info.key);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const state: JobInfo = {
      ...info,
      hostname: os.hostname(),
      pid: null,
      startTime: new Date().toISOString(),
      endTime: null,
      exitCode: null,
      status: 'running',
    };
    await this.writeInfo(state);
    const writer = this.writer(state, 0);
    await writer.log.open();
    return writer;
  }

  /** Goes on writing a job that is still running (a container adopted after a restart). */
  async reopen(info: JobInfo): Promise<JobWriter> {
    const size = await currentLogSize(this.logFiles(info.contentGuid, info.key));
    return this.writer({ ...info }, size);
  }

  private writer(state: JobInfo, alreadyWritten: number): JobWriter & { log: JobLogWriter } {
    const log = new JobLogWriter(this.logFiles(state.contentGuid, state.key), alreadyWritten);
    return {
      log,
      line: (source, text) => log.line(source, text),
      drain: () => log.drain(),
      setPid: async (pid) => {
        state.pid = pid;
        await this.writeInfo(state);
      },
      finish: async (exitCode, status) => {
        await log.close();
        Object.assign(state, { exitCode, status, endTime: new Date().toISOString() });
        await this.writeInfo(state);
      },
    };
  }

  async get(guid: string, key: string): Promise<JobInfo | undefined> {
    if (!JOB_KEY.test(key) || !GUID.test(guid)) return undefined;
    try {
      return JSON.parse(await readFile(path.join(this.dir(guid, key), 'job.json'), 'utf8')) as JobInfo;
    } catch {
      return undefined;
    }
  }

  async list(guid: string): Promise<JobInfo[]> {
    let keys: string[] = [];
    try {
      keys = await readdir(path.join(this.root, guid));
    } catch {
      return [];
    }
    const jobs = (await Promise.all(keys.map((k) => this.get(guid, k)))).filter((j): j is JobInfo => !!j);
    return jobs.sort((a, b) => b.startTime.localeCompare(a.startTime));
  }

  /** Every job recorded as running, across all content (for cleanup after a restart). */
  async running(): Promise<JobInfo[]> {
    let guids: string[] = [];
    try {
      guids = await readdir(this.root);
    } catch {
      return [];
    }
    return (await Promise.all(guids.map((g) => this.list(g)))).flat().filter((j) => j.status === 'running');
  }

  /**
   * Removes the jobs that ended before `endedBefore` (by their record's end), and directories
   * without a record last written before it (a start cut short before its record was written).
   * A job recorded as running is never removed: its process, or a restart's adoption, owns it.
   */
  async prune(endedBefore: Date): Promise<Freed> {
    let freed = NOTHING_FREED;
    const names = async (dir: string) => readdir(dir).catch(() => [] as string[]);
    for (const guid of (await names(this.root)).filter((g) => GUID.test(g))) {
      for (const key of (await names(path.join(this.root, guid))).filter((k) => JOB_KEY.test(k))) {
        const dir = this.dir(guid, key);
        const info = await this.get(guid, key);
        const ended = info
          ? info.status !== 'running' && info.endTime !== null && Date.parse(info.endTime) < endedBefore.getTime()
          : await stat(dir).then(
              (st) => st.mtime < endedBefore,
              () => false,
            );
        if (!ended) continue;
        const { files, bytes } = await treeSize(dir);
        await rm(dir, { recursive: true, force: true });
        freed = addFreed(freed, { rows: 0, files, bytes });
      }
    }
    return freed;
  }

  async markLost(info: JobInfo): Promise<void> {
    await this.writeInfo({ ...info, status: 'lost', endTime: new Date().toISOString() });
  }

  /** The last `maxLines` entries of a job's log (across a rotation). */
  async readLog(guid: string, key: string, maxLines = 10_000): Promise<JobLogEntry[]> {
    if (!JOB_KEY.test(key) || !GUID.test(guid)) return [];
    return readJobLog(this.logFiles(guid, key), maxLines);
  }

  /** The current log file's path. */
  logPath(guid: string, key: string): string {
    return this.logFiles(guid, key).current;
  }

  /** The log file and the one it rotated from, for reading and following. */
  logFiles(guid: string, key: string): LogFiles {
    return logFiles(this.dir(guid, key));
  }
}
