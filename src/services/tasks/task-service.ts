import { randomInt } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { splitLines } from '../../domain/line-splitter.ts';
import type { NewTask, TaskRepo } from '../../repositories/task-repo.ts';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAX_WAIT_SECONDS = 60;
const SWEEP_EVERY_MS = 10 * 60_000;
const KEEP_FETCHED_MS = 24 * 3600_000;

// A task's output is bounded, however much a build prints: its first HEAD_LINES lines (what was
// deployed, with what) and its last TAIL_LINES (where it failed: errors come last), each cut at
// LINE_BYTES. Lines in between are dropped before they are stored when the database cannot keep
// up, and deleted once TAIL_LINES newer ones are stored; readers see a line saying how many.
// At most HEAD_LINES + TAIL_LINES + INSERT_BATCH rows per task, about 20 MB at the very worst.
export const TASK_HEAD_LINES = 500;
export const TASK_TAIL_LINES = 2000;
const LINE_BYTES = 8 * 1024;
const INSERT_BATCH = 500;
// Lines one read returns at most (a client asks again from `last`).
const PAGE_LINES = 5000;

function omittedNote(n: number): string {
  return `[lectern] … ${n} line${n === 1 ? '' : 's'} of output omitted: a task keeps the first ${TASK_HEAD_LINES} and the last ${TASK_TAIL_LINES} lines of its output …`;
}

interface Pending {
  line: string;
  /** The log() call this line ends: settled when it is stored, dropped or lost. */
  done?: { resolve(): void; reject(err: unknown): void };
}

interface Writer {
  /** Lines given to log() so far: the first TASK_HEAD_LINES are all stored. */
  received: number;
  /** The number the next stored line gets (a failed write uses none; dropped lines do). */
  seq: number;
  head: Pending[];
  tail: Pending[];
  /** Lines dropped from `tail` since the last store: numbers the next stored line skips. */
  dropped: number;
  /** The first number after the head, once tail lines are stored; and below which the middle is deleted. */
  headEnd: number | undefined;
  trimmedTo: number;
  flushing: Promise<void> | undefined;
}

export interface TaskPage {
  task: Task;
  /** Lines from `first` on (with a note where lines were omitted). */
  lines: string[];
  /** The index to ask for next. */
  last: number;
}

function newTaskId(): string {
  let id = '';
  for (let i = 0; i < 16; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/**
 * Deploy and render tasks: their output lines as they happen, and a long-poll for readers.
 * Lines go to the database (so any node can serve them, and they outlive the process) and
 * wake local waiters through an event, so a waiting reader costs nothing until there is news.
 */
export class TaskService {
  private readonly events = new EventEmitter();
  // One queue and one writing loop per running task, so lines keep their order and numbering.
  private readonly writers = new Map<string, Writer>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly repo: TaskRepo) {
    this.events.setMaxListeners(0);
  }

  /** Marks tasks an earlier process left unfinished as failed, and starts the sweeper. */
  async start(): Promise<string[]> {
    const failed = await this.repo.failUnfinished('The server restarted while this task was running. Deploy again.');
    this.sweeper = setInterval(() => void this.repo.sweep(new Date(Date.now() - KEEP_FETCHED_MS)).catch(() => undefined), SWEEP_EVERY_MS);
    this.sweeper.unref();
    return failed;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  async create(t: Omit<NewTask, 'id'>): Promise<Task> {
    const task = await this.repo.create({ ...t, id: newTaskId() });
    this.writers.set(task.id, { received: 0, seq: 0, head: [], tail: [], dropped: 0, headEnd: undefined, trimmedTo: 0, flushing: undefined });
    return task;
  }

  /**
   * Appends one line (several if it contains newlines; each cut at LINE_BYTES). Resolves when
   * stored, or when dropped from the middle of a long output. A failed write loses those lines
   * only: later lines and the task's end are still recorded.
   */
  log(taskId: string, text: string): Promise<void> {
    const w = this.writers.get(taskId);
    if (!w) return Promise.reject(new Error(`task ${taskId} is not running here`));
    const lines = splitLines(text.replace(/\n$/, ''), LINE_BYTES);
    return new Promise<void>((resolve, reject) => {
      lines.forEach((line, i) => {
        const p: Pending = i === lines.length - 1 ? { line, done: { resolve, reject } } : { line };
        if (w.received++ < TASK_HEAD_LINES) {
          w.head.push(p);
          return;
        }
        w.tail.push(p);
        if (w.tail.length > TASK_TAIL_LINES) {
          w.tail.shift()!.done?.resolve();
          w.dropped++;
        }
      });
      this.kick(taskId, w);
    });
  }

  private kick(taskId: string, w: Writer): void {
    if (w.flushing) return;
    w.flushing = this.flush(taskId, w).finally(() => {
      w.flushing = undefined;
      if (w.head.length || w.tail.length) this.kick(taskId, w);
    });
  }

  /** Stores what is queued, in order, a batch at a time, and deletes the middle of a long output. */
  private async flush(taskId: string, w: Writer): Promise<void> {
    for (;;) {
      const fromHead = w.head.length > 0;
      const batch = (fromHead ? w.head : w.tail).splice(0, INSERT_BATCH);
      if (!batch.length) return;
      if (!fromHead) w.headEnd ??= w.seq;
      const skip = fromHead ? 0 : w.dropped;
      w.dropped -= skip;
      const seq = w.seq + skip;
      try {
        // One line (a quiet deploy) is a plain insert; a burst, one statement for the batch.
        if (batch.length === 1) await this.repo.appendLine(taskId, seq, batch[0]!.line);
        else
          await this.repo.appendLines(
            taskId,
            seq,
            batch.map((p) => p.line),
          );
        w.seq = seq + batch.length; // only once stored, so a failed write leaves no gap
        for (const p of batch) p.done?.resolve();
      } catch (err) {
        w.dropped += skip;
        for (const p of batch) p.done?.reject(err);
      }
      if (w.headEnd !== undefined) {
        w.trimmedTo = Math.max(w.trimmedTo, w.headEnd);
        const keepFrom = w.seq - TASK_TAIL_LINES;
        if (keepFrom > w.trimmedTo) {
          await this.repo.deleteLines(taskId, w.trimmedTo, keepFrom).then(
            () => (w.trimmedTo = keepFrom),
            () => undefined,
          );
        }
      }
      this.events.emit(taskId);
    }
  }

  async finish(taskId: string, code: number, error = '', result: unknown = null): Promise<void> {
    const w = this.writers.get(taskId);
    try {
      while (w?.flushing) await w.flushing;
      await this.repo.finish(taskId, code, error, result);
    } finally {
      this.writers.delete(taskId);
      this.events.emit(taskId);
    }
  }

  async get(taskId: string): Promise<Task> {
    const task = await this.repo.byId(taskId);
    if (!task) throw AppError.notFound('The requested task does not exist.');
    return task;
  }

  /** True while a task (a deploy) is using the bundle. */
  busy(bundleId: number): Promise<boolean> {
    return this.repo.unfinishedForBundle(bundleId);
  }

  listForUser(userId: number, limit = 100): Promise<Task[]> {
    return this.repo.listForUser(userId, limit);
  }

  /**
   * Lines from `first`, waiting up to `waitSeconds` for some to appear or for the task to end.
   * Answers at once when there is something to say.
   */
  async read(taskId: string, first: number, waitSeconds: number): Promise<TaskPage> {
    const deadline = Date.now() + Math.min(Math.max(waitSeconds, 0), MAX_WAIT_SECONDS) * 1000;
    for (;;) {
      // Subscribe before reading, so a line written in between still wakes us.
      const ac = new AbortController();
      const woken = once(this.events, taskId, { signal: ac.signal }).catch(() => undefined);
      try {
        const task = await this.get(taskId);
        const rows = await this.repo.lines(taskId, first, PAGE_LINES);
        const remaining = deadline - Date.now();
        if (rows.length > 0 || task.finished || remaining <= 0) {
          if (task.finished) await this.repo.markFetched(taskId);
          // Numbers skipped (lines dropped or deleted from the middle, or gone while this reader
          // was behind) become one line saying how many; `last` follows the numbers, so the
          // next read goes on after them.
          const lines: string[] = [];
          let next = first;
          for (const r of rows) {
            if (r.seq > next) lines.push(omittedNote(r.seq - next));
            lines.push(r.line);
            next = r.seq + 1;
          }
          return { task, lines, last: next };
        }
        const timer = sleep(remaining, undefined, { signal: ac.signal, ref: false }).catch(() => undefined);
        await Promise.race([woken, timer]);
      } finally {
        ac.abort();
      }
    }
  }
}
