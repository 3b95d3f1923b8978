import { randomInt } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import type { NewTask, TaskRepo } from '../../repositories/task-repo.ts';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const MAX_WAIT_SECONDS = 60;
const SWEEP_EVERY_MS = 10 * 60_000;
const KEEP_FETCHED_MS = 24 * 3600_000;

export interface TaskPage {
  task: Task;
  /** Lines from `first` on. */
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
  // Appends for one task are chained so lines keep their order and numbering.
  private readonly writers = new Map<string, { seq: number; chain: Promise<void> }>();
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
    this.writers.set(task.id, { seq: 0, chain: Promise.resolve() });
    return task;
  }

  /**
   * Appends one line (several if it contains newlines). Resolves when stored. A failed write
   * loses that line only: later lines and the task's end are still recorded.
   */
  log(taskId: string, text: string): Promise<void> {
    const w = this.writers.get(taskId);
    if (!w) return Promise.reject(new Error(`task ${taskId} is not running here`));
    const lines = text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
    const write = w.chain.then(async () => {
      for (const line of lines) {
        await this.repo.appendLine(taskId, w.seq, line);
        w.seq++; // only once stored, so numbering has no gaps
      }
      this.events.emit(taskId);
    });
    w.chain = write.catch(() => undefined);
    return write;
  }

  async finish(taskId: string, code: number, error = '', result: unknown = null): Promise<void> {
    const w = this.writers.get(taskId);
    try {
      await w?.chain;
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
        const lines = await this.repo.lines(taskId, first);
        const remaining = deadline - Date.now();
        if (lines.length > 0 || task.finished || remaining <= 0) {
          if (task.finished) await this.repo.markFetched(taskId);
          return { task, lines, last: first + lines.length };
        }
        const timer = sleep(remaining, undefined, { signal: ac.signal, ref: false }).catch(() => undefined);
        await Promise.race([woken, timer]);
      } finally {
        ac.abort();
      }
    }
  }
}
