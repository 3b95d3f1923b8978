import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { JobInfo, JobLogEntry } from '../../src/domain/jobs.ts';

const JOB_KEY = /^[A-Za-z0-9-]{1,64}$/;
const GUID = /^[0-9a-f-]{36}$/i;

// A job that writes more than this keeps its first part: enough to debug, bounded on disk.
const MAX_LOG_BYTES = 16 * 1024 * 1024;

export interface JobWriter {
  line(source: 'stdout' | 'stderr', text: string): void;
  setPid(pid: number | null): Promise<void>;
  finish(exitCode: number | null, status: JobInfo['status']): Promise<void>;
}

/**
 * Jobs on disk: `<dataDir>/jobs/<content guid>/<key>/job.json` (what, when, exit code) and
 * `log.jsonl` (one `{t, s, d}` per output line). Files, not database rows: a job's output is
 * written as fast as the process prints, and local processes belong to this node anyway.
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
    const state: JobInfo = { ...info, hostname: os.hostname(), pid: null, startTime: new Date().toISOString(), endTime: null, exitCode: null, status: 'running' };
    await this.writeInfo(state);
    return this.writer(state, 0);
  }

  /** Goes on writing a job that is still running (a container adopted after a restart). */
  async reopen(info: JobInfo): Promise<JobWriter> {
    const size = await stat(this.logPath(info.contentGuid, info.key)).then((s) => s.size, () => 0);
    return this.writer({ ...info }, size);
  }

  private writer(state: JobInfo, alreadyWritten: number): JobWriter {
    const dir = this.dir(state.contentGuid, state.key);
    const log: WriteStream = createWriteStream(path.join(dir, 'log.jsonl'), { flags: 'a', mode: 0o600 });
    let written = alreadyWritten;
    let truncated = false;
    return {
      line: (source, text) => {
        if (truncated) return;
        const entry = JSON.stringify({ t: new Date().toISOString(), s: source, d: text }) + '\n';
        written += entry.length;
        if (written > MAX_LOG_BYTES) {
          truncated = true;
          log.write(JSON.stringify({ t: new Date().toISOString(), s: 'stderr', d: '[lectern] log truncated: the job wrote more than 16 MB' }) + '\n');
          return;
        }
        log.write(entry);
      },
      setPid: async (pid) => {
        state.pid = pid;
        await this.writeInfo(state);
      },
      finish: async (exitCode, status) => {
        await new Promise<void>((r) => log.end(r));
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

  async markLost(info: JobInfo): Promise<void> {
    await this.writeInfo({ ...info, status: 'lost', endTime: new Date().toISOString() });
  }

  async readLog(guid: string, key: string, maxLines = 10_000): Promise<JobLogEntry[]> {
    if (!JOB_KEY.test(key) || !GUID.test(guid)) return [];
    const file = path.join(this.dir(guid, key), 'log.jsonl');
    const out: JobLogEntry[] = [];
    try {
      await stat(file);
    } catch {
      return out;
    }
    const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const raw of rl) {
      if (!raw) continue;
      let e: { t: string; s: 'stdout' | 'stderr'; d: string };
      try {
        e = JSON.parse(raw) as typeof e;
      } catch {
        continue; // a line still being written
      }
      out.push({ timestamp: e.t, source: e.s, data: e.d });
      if (out.length > maxLines) out.shift();
    }
    return out;
  }

  /** The log file's path, for following it as it grows. */
  logPath(guid: string, key: string): string {
    return path.join(this.dir(guid, key), 'log.jsonl');
  }
}
