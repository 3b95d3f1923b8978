/**
 * Per-key coordination of asynchronous work, the one helper for what used to be written by
 * hand in each place that needed it. Two shapes:
 *
 * - `KeyedLock`: work under one key runs one at a time, in the order asked; a failure does
 *   not stop the next one. (A deploy queue, the starts and stops of one bundle.)
 * - `KeyedShare`: while a promise for a key is in flight, whoever asks for that key gets the
 *   same one; with `keepResults`, a fulfilled one stays (a cache) and only a failure is
 *   forgotten, so the next caller tries again.
 *
 * Entries go once they are no longer needed, so neither map grows with the keys ever seen.
 */
export class KeyedLock<K = string> {
  private readonly tails = new Map<K, Promise<unknown>>();

  /** Runs `fn` after everything queued before it under `key` has settled. */
  run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** The keys with work queued or running. */
  keys(): K[] {
    return [...this.tails.keys()];
  }

  /** Resolves when no key has work queued or running, including work queued meanwhile. */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.all([...this.tails.values()]);
  }
}

export interface KeyedShareOptions {
  /** Keep fulfilled promises until `forget` (a cache); failures are always forgotten. */
  keepResults?: boolean;
}

export class KeyedShare<K, T> {
  private readonly promises = new Map<K, Promise<T>>();

  constructor(private readonly options: KeyedShareOptions = {}) {}

  /** The promise in flight (or kept) for `key`, else the one `make` starts now. */
  run(key: K, make: () => Promise<T>): Promise<T> {
    const running = this.promises.get(key);
    if (running) return running;
    const p = make();
    this.promises.set(key, p);
    const drop = () => {
      if (this.promises.get(key) === p) this.promises.delete(key);
    };
    p.then(() => {
      if (!this.options.keepResults) drop();
    }, drop);
    return p;
  }

  /** What is in flight (or kept) for `key`, without starting anything. */
  current(key: K): Promise<T> | undefined {
    return this.promises.get(key);
  }

  /** Drops what is kept for `key`: the next `run` starts anew (one in flight carries on). */
  forget(key: K): void {
    this.promises.delete(key);
  }

  keys(): K[] {
    return [...this.promises.keys()];
  }
}

/**
 * Shared and exclusive turns on one thing: any number of shared holders together, or one
 * exclusive holder alone. Turns are given in the order asked, so an exclusive request waits
 * for the holders before it and holds back shared requests after it: it is never starved.
 * (A runtime cache: environment builds share it; its removal is exclusive.)
 */
export class SharedLock {
  private sharers = 0;
  private held = false;
  private readonly waiting: { exclusive: boolean; grant: () => void }[] = [];

  /** Runs `fn` alongside other shared work, never during exclusive work. */
  shared<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(false, fn);
  }

  /** Runs `fn` alone: after the shared work under way, before any asked for later. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(true, fn);
  }

  private async hold<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.waiting.length === 0 && this.free(exclusive)) this.take(exclusive);
    else await new Promise<void>((grant) => this.waiting.push({ exclusive, grant }));
    try {
      return await fn();
    } finally {
      if (exclusive) this.held = false;
      else this.sharers--;
      this.next();
    }
  }

  private free(exclusive: boolean): boolean {
    return !this.held && (!exclusive || this.sharers === 0);
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.held = true;
    else this.sharers++;
  }

  private next(): void {
    while (this.waiting.length > 0 && this.free(this.waiting[0]!.exclusive)) {
      const w = this.waiting.shift()!;
      this.take(w.exclusive);
      w.grant();
      if (w.exclusive) return;
    }
  }
}
