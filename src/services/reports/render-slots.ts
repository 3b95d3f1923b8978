/**
 * At most `size` renders at once on this server; the rest wait their turn in order. Renders are
 * whole R or Python processes, so a burst of due schedules must not start them all at once.
 */
export class RenderSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly active = new Set<Promise<unknown>>();

  constructor(private readonly size: number) {}

  run<T>(job: () => Promise<T>): Promise<T> {
    const p = this.acquire()
      .then(job)
      .finally(() => this.release());
    const tracked = p.catch(() => undefined);
    this.active.add(tracked);
    void tracked.finally(() => this.active.delete(tracked));
    return p;
  }

  /** Resolves when every render started or queued so far has ended. */
  async idle(): Promise<void> {
    while (this.active.size) await Promise.all([...this.active]);
  }

  private acquire(): Promise<void> {
    if (this.running < this.size) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
