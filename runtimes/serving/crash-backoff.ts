export class ContentUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

interface Backoff {
  failures: number;
  until: number;
}

const CRASH_WINDOW_MS = 60_000;
const MAX_BACKOFF_MS = 60_000;

/**
 * An app that dies by itself soon after starting is crash-looping: each such exit makes the
 * next start wait longer (1 s, 2 s, ... 60 s); one that lived a minute starts with a clean slate.
 */
export class CrashBackoff {
  private readonly bundles = new Map<string, Backoff>();

  constructor(private readonly now: () => number = Date.now) {}

  /** An instance of bundle `id` exited after `livedMs`; `stopped` when Lectern stopped it. */
  exited(id: string, livedMs: number, stopped: boolean): void {
    if (livedMs >= CRASH_WINDOW_MS) this.bundles.delete(id);
    if (!stopped && livedMs < CRASH_WINDOW_MS) {
      const b = this.bundles.get(id) ?? { failures: 0, until: 0 };
      b.failures++;
      b.until = this.now() + Math.min(1000 * 2 ** (b.failures - 1), MAX_BACKOFF_MS);
      this.bundles.set(id, b);
    }
  }

  /** Throws ContentUnavailable while bundle `id` must wait before it starts again. */
  check(id: string): void {
    const b = this.bundles.get(id);
    const now = this.now();
    if (b && b.until > now) {
      throw new ContentUnavailable(
        'The app keeps exiting soon after it starts; Lectern waits before trying again. Its logs say why.',
        Math.ceil((b.until - now) / 1000),
      );
    }
  }

  /** A deploy starts the bundle afresh. */
  clear(id: string): void {
    this.bundles.delete(id);
  }
}
