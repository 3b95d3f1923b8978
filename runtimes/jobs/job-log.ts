// A job's output on disk: `log.jsonl` (one `{t, s, d}` per line) and, once it has passed
// MAX_LOG_BYTES, the file before it, `log.1.jsonl`. Rotation keeps the end of the output (what
// explains how a process ended) and bounds the disk a job can fill to twice the limit.
import { createReadStream } from 'node:fs';
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobLogEntry } from '../../src/domain/jobs.ts';
import { LineSplitter, MAX_LINE_BYTES } from '../../src/domain/line-splitter.ts';

const LOG_FILE = 'log.jsonl';
const OLDER_LOG_FILE = 'log.1.jsonl';

/** A log file's size before it rotates: a job keeps between this and twice this of its output. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;
// Entries not yet on disk: above HIGH the writer asks its source to pause (the pipe fills and
// the process waits); a source that does not pause loses lines at MAX, with a note saying so.
const QUEUE_HIGH_BYTES = 1024 * 1024;
const QUEUE_MAX_BYTES = 8 * 1024 * 1024;
const WRITE_BATCH_BYTES = 256 * 1024;
// A stored entry is one line of at most MAX_LINE_BYTES, JSON-escaped (at worst 6 bytes a byte).
const MAX_ENTRY_BYTES = 6 * MAX_LINE_BYTES + 256;
const FOLLOW_POLL_MS = 250;
const READ_CHUNK_BYTES = 256 * 1024;

export interface LogFiles {
  current: string;
  older: string;
}

export function logFiles(dir: string): LogFiles {
  return { current: path.join(dir, LOG_FILE), older: path.join(dir, OLDER_LOG_FILE) };
}

// The timestamp's text, made once per millisecond: a process printing short lines fast would
// otherwise spend most of the log's time formatting dates.
let stampMs = -1;
let stamp = '';

function entryOf(source: 'stdout' | 'stderr', text: string): string {
  const now = Date.now();
  if (now !== stampMs) {
    stampMs = now;
    stamp = new Date(now).toISOString();
  }
  return `{"t":"${stamp}","s":"${source}","d":${JSON.stringify(text)}}\n`;
}

function parse(raw: string): JobLogEntry | undefined {
  if (!raw) return undefined;
  try {
    const e = JSON.parse(raw) as { t: string; s: 'stdout' | 'stderr'; d: string };
    return { timestamp: e.t, source: e.s, data: e.d };
  } catch {
    return undefined; // a line still being written
  }
}

const ROTATED_NOTE = `[lectern] The log passed ${MAX_LOG_BYTES / 1024 / 1024} MB and was rotated: a job keeps the last ${MAX_LOG_BYTES / 1024 / 1024} to ${(2 * MAX_LOG_BYTES) / 1024 / 1024} MB of its output, so earlier output may be missing.`;

/** The note's size in the log (the timestamp always has the same length). */
function rotatedNoteBytes(): number {
  return Buffer.byteLength(entryOf('stderr', ROTATED_NOTE));
}

/**
 * Appends entries to a job's log in order, from one queue written by one loop (so a rotation
 * never interleaves with a write), rotating at `maxBytes`.
 */
export class JobLogWriter {
  // What waits for the disk, in order: texts of up to WRITE_BATCH_BYTES (entries appended as
  // they come) and the points where the file rotates.
  private queue: Array<{ text: string; bytes: number } | 'rotate'> = [];
  private queued = 0;
  /** The current file's size once everything queued is written: where the rotations fall. */
  private projected: number;
  private lost = 0;
  private fh: FileHandle | undefined;
  private flushing: Promise<void> | undefined;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly files: LogFiles,
    size: number,
    private readonly maxBytes = MAX_LOG_BYTES,
  ) {
    this.projected = size;
  }

  /** Queues a line; false when the source should pause until drain() resolves. */
  line(source: 'stdout' | 'stderr', text: string): boolean {
    if (this.closed) return true;
    const entry = entryOf(source, text);
    const bytes = Buffer.byteLength(entry);
    if (this.queued + bytes > QUEUE_MAX_BYTES) {
      this.lost++;
      return false;
    }
    this.noteLost();
    this.push(entry, bytes);
    return this.queued < QUEUE_HIGH_BYTES;
  }

  /** Resolves once the entries waiting for the disk are below the mark where line() says pause. */
  drain(): Promise<void> {
    if (this.queued < QUEUE_HIGH_BYTES || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes what is queued, then closes the file; later lines are ignored. */
  async close(): Promise<void> {
    this.noteLost();
    while (this.flushing) await this.flushing;
    this.closed = true;
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    this.wake();
  }

  /** Creates the file (empty until the job writes), so that it is there from the job's start. */
  async open(): Promise<void> {
    this.fh ??= await open(this.files.current, 'a', 0o600);
  }

  private noteLost(): void {
    if (this.lost === 0) return;
    const n = this.lost;
    this.lost = 0;
    const note = entryOf('stderr', `[lectern] ${n} line${n === 1 ? ' was' : 's were'} lost: the job wrote faster than its log could be stored.`);
    this.push(note, Buffer.byteLength(note));
  }

  private push(text: string, bytes: number): void {
    if (this.projected + bytes > this.maxBytes && this.projected > 0) {
      this.queue.push('rotate');
      this.projected = rotatedNoteBytes();
    }
    this.projected += bytes;
    this.queued += bytes;
    const last = this.queue.at(-1);
    if (last !== undefined && last !== 'rotate' && last.bytes < WRITE_BATCH_BYTES) {
      last.text += text;
      last.bytes += bytes;
    } else {
      this.queue.push({ text, bytes });
    }
    this.kick();
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.queue.length) this.kick();
      this.wake();
    });
  }

  private wake(): void {
    if (this.queued >= QUEUE_HIGH_BYTES && !this.closed) return;
    for (const w of this.waiters.splice(0)) w();
  }

  private async flush(): Promise<void> {
    // Each piece leaves the queue before it is written, so line() never adds to one being written.
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      if (next === 'rotate') {
        await this.rotate();
        continue;
      }
      await this.append(next.text);
      this.queued -= next.bytes;
      this.wake();
    }
  }

  private async append(text: string): Promise<void> {
    try {
      this.fh ??= await open(this.files.current, 'a', 0o600);
      await this.fh.appendFile(text);
    } catch {
      // A log that cannot be written (disk full) loses lines; the job goes on.
    }
  }

  /** The current file, complete and closed, becomes the older one (replacing it); a new one starts with a note. */
  private async rotate(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    await rename(this.files.current, this.files.older).catch(() => undefined);
    await this.append(entryOf('stderr', ROTATED_NOTE));
  }
}

/** Calls `onEntry` for each entry of a file, in order; nothing if it is not there. */
async function readEntries(file: string, onEntry: (e: JobLogEntry) => void): Promise<void> {
  const splitter = new LineSplitter(
    (raw) => {
      const e = parse(raw);
      if (e) onEntry(e);
    },
    { maxLineBytes: MAX_ENTRY_BYTES },
  );
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })) splitter.write(chunk as Buffer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  splitter.end();
}

/** The last `maxLines` entries of a job's log, across a rotation. */
export async function readJobLog(files: LogFiles, maxLines: number): Promise<JobLogEntry[]> {
  let kept: JobLogEntry[] = [];
  const add = (e: JobLogEntry) => {
    kept.push(e);
    if (kept.length >= 2 * maxLines) kept = kept.slice(-maxLines);
  };
  await readEntries(files.older, add);
  await readEntries(files.current, add);
  return kept.slice(-maxLines);
}

/** What is there of a log when a writer takes it up again (a container adopted after a restart). */
export async function currentLogSize(files: LogFiles): Promise<number> {
  return stat(files.current).then(
    (s) => s.size,
    () => 0,
  );
}

/**
 * The entries of the current log file from its start, then new ones as they are written, until
 * `running()` says the job has ended (and everything is read) or the signal aborts. Follows a
 * rotation: the file it was reading is read to its end (it is complete when renamed), then the
 * new one from its start.
 */
export async function* followJobLog(files: LogFiles, running: () => Promise<boolean>, signal: AbortSignal): AsyncIterable<JobLogEntry> {
  const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  const ready: JobLogEntry[] = [];
  const newSplitter = () =>
    new LineSplitter(
      (raw) => {
        const e = parse(raw);
        if (e) ready.push(e);
      },
      { maxLineBytes: MAX_ENTRY_BYTES },
    );
  let splitter = newSplitter();
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = 0;
  // After a double rotation: the older file, read from its start before the current one.
  let readingOlder = false;
  let lastPass = false;
  const openFile = async (file: string) => {
    try {
      fh = await open(file, 'r');
      ino = (await fh.stat()).ino;
      pos = 0;
    } catch {
      fh = undefined;
    }
  };
  try {
    while (!signal.aborted) {
      if (!fh) await openFile(files.current);
      let got = 0;
      if (fh) {
        ({ bytesRead: got } = await fh.read(buf, 0, buf.length, pos));
        pos += got;
        if (got > 0) splitter.write(buf.subarray(0, got));
      }
      while (ready.length) yield ready.shift()!;
      if (got > 0) continue;
      if (fh && readingOlder) {
        await fh.close();
        fh = undefined;
        readingOlder = false;
        splitter = newSplitter();
        continue;
      }
      const now = await stat(files.current).then(
        (s) => s.ino,
        () => undefined,
      );
      if (fh && now !== undefined && now !== ino) {
        // Rotated: what we hold is the complete older file, read to its end above.
        splitter.end();
        while (ready.length) yield ready.shift()!;
        await fh.close();
        fh = undefined;
        splitter = newSplitter();
        const older = await stat(files.older).then(
          (s) => s.ino,
          () => undefined,
        );
        if (older !== undefined && older !== ino) {
          // Rotated twice since the last look: the file in between is the older one now.
          await openFile(files.older);
          readingOlder = fh !== undefined;
        }
        continue;
      }
      if (lastPass) return;
      // One more look after the job ends: it may have written its last lines just before.
      if (!(await running())) {
        lastPass = true;
        continue;
      }
      await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
