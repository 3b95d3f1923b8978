import { Worker } from 'node:worker_threads';
import type { DatabaseConfig } from '../../db/connect.ts';
import type { UsageBatch } from '../../repositories/usage-repo.ts';
import type { WriteReply, WriteRequest } from './writer-thread.ts';

const ENTRY = new URL('./writer-thread.ts', import.meta.url).href;
const RETRY_MS = 30_000;

/**
 * Writes usage batches on a thread of its own (writer-thread.ts), started at the first batch:
 * a server whose content is never used starts none. The thread is TypeScript, as the server
 * is, so it registers tsx before loading it (a worker does not inherit the main thread's
 * loader on Node 20).
 */
export class ThreadedUsageWriter {
  private worker: Worker | undefined;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** After the thread died, no new one before this time: batches meanwhile fail (dropped, counted). */
  private retryAt = 0;

  constructor(private readonly db: DatabaseConfig) {}

  write(batch: UsageBatch): Promise<void> {
    if (!this.worker && Date.now() < this.retryAt) return Promise.reject(new Error('the usage writer thread failed; it is started again shortly'));
    const worker = this.start();
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, batch } satisfies WriteRequest);
    });
  }

  /** Lets the thread finish what it was given and close its connection. */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage('close');
    await exited;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(ENTRY)}); })`, {
      eval: true,
      workerData: { database: this.db.database, dataDir: this.db.dataDir } satisfies DatabaseConfig,
    });
    // Idle, the thread never keeps the server's process alive; close() ends it at shutdown.
    w.unref();
    w.on('message', (m: WriteReply) => {
      const p = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.ok) p?.resolve();
      else p?.reject(new Error(m.error));
    });
    // The thread died (it could not open the database): what waits fails; a batch after a pause starts another.
    const fail = (err: Error) => {
      if (this.worker === w) {
        this.worker = undefined;
        // A thread that cannot start (the database will not open) would otherwise be started
        // again for every batch, a second apart, for as long as the server runs.
        this.retryAt = Date.now() + RETRY_MS;
      }
      for (const p of this.waiting.values()) p.reject(err);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the usage writer thread exited (${code})`)));
    this.worker = w;
    return w;
  }
}
