/** When a batcher writes, and how much it holds at most. */
export interface BatcherOptions {
  /** A buffer this long is written at once, without waiting for the timer. */
  flushRows: number;
  /** Milliseconds the first buffered row waits at most before it is written. */
  flushMs: number;
  /**
   * Rows held at most, buffered or in batches waiting on the database; beyond it (the database
   * is slow or gone) rows are dropped and counted.
   */
  maxRows: number;
}

/**
 * Collects rows in memory and writes them in batches, off the request path: `add` only pushes
 * onto an array (or drops the row when full), so the proxy never waits on the database. One
 * write at a time; a failed batch is logged and dropped rather than retried into a growing
 * buffer. Idle, it holds no timer.
 */
export class Batcher<T> {
  private buffer: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Rows in memory: the buffer and the batches not yet written. */
  private held = 0;
  /** Rows dropped: over the cap, after close, or in a batch whose write failed. */
  dropped = 0;

  constructor(
    private readonly write: (rows: T[]) => Promise<void>,
    private readonly o: BatcherOptions,
    private readonly onError: (err: unknown, rows: number) => void,
  ) {}

  add(row: T): void {
    if (this.closed || this.held >= this.o.maxRows) {
      this.dropped++;
      return;
    }
    this.held++;
    this.buffer.push(row);
    if (this.buffer.length >= this.o.flushRows) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.o.flushMs);
      // A pending batch never keeps the process alive: close() writes it.
      this.timer.unref();
    }
  }

  /** Writes what is buffered now; resolves once it (and any earlier batch) is in the database. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(async () => {
      if (rows.length === 0) return;
      try {
        await this.write(rows);
      } catch (err) {
        this.dropped += rows.length;
        this.onError(err, rows.length);
      } finally {
        this.held -= rows.length;
      }
    });
    return this.writing;
  }

  /** Writes the rest and takes no more rows. */
  close(): Promise<void> {
    this.closed = true;
    return this.flush();
  }
}
