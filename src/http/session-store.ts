import session from 'express-session';
import type { SessionRepo } from '../repositories/session-repo.ts';

type Callback = (err?: unknown, data?: session.SessionData | null) => void;

const PURGE_EVERY_MS = 15 * 60_000;
// express-session touches the store on every request that does not change the session;
// writing the new expiry at most this often keeps a page's requests from each writing.
const TOUCH_EVERY_MS = 60_000;
const MAX_TRACKED = 100_000;

/**
 * express-session's store over the `sessions` table, so sessions survive restarts and are
 * shared by every node on PostgreSQL. Keeps the user id in its own column, which lets
 * locking a user end all of their sessions with one delete.
 */
export class DatabaseSessionStore extends session.Store {
  private readonly timer: NodeJS.Timeout;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repo: SessionRepo,
    private readonly defaultMaxAgeMs: number,
  ) {
    super();
    this.timer = setInterval(() => void this.repo.purgeExpired(new Date()).catch(() => undefined), PURGE_EVERY_MS);
    this.timer.unref();
  }

  private expiry(sess: session.SessionData): Date {
    const exp = sess.cookie?.expires;
    return exp ? new Date(exp) : new Date(Date.now() + this.defaultMaxAgeMs);
  }

  override get(sid: string, cb: Callback): void {
    this.repo
      .get(sid)
      .then((row) => {
        if (!row || row.expiresAt.getTime() <= Date.now()) return cb(null, null);
        cb(null, JSON.parse(row.data) as session.SessionData);
      })
      .catch((err: unknown) => cb(err));
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    // A save writes the expiry too.
    this.remember(sid, Date.now());
    const userId = (sess as { passport?: { user?: unknown } }).passport?.user;
    this.repo
      .set(sid, typeof userId === 'number' ? userId : null, JSON.stringify(sess), this.expiry(sess))
      .then(() => cb?.())
      .catch((err: unknown) => cb?.(err));
  }

  override touch(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    const now = Date.now();
    const last = this.touched.get(sid);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return void cb?.();
    this.remember(sid, now);
    this.repo
      .touch(sid, this.expiry(sess))
      .then(() => cb?.())
      .catch((err: unknown) => cb?.(err));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.touched.delete(sid);
    this.repo
      .destroy(sid)
      .then(() => cb?.())
      .catch((err: unknown) => cb?.(err));
  }

  private remember(sid: string, at: number) {
    this.touched.delete(sid);
    this.touched.set(sid, at);
    if (this.touched.size > MAX_TRACKED) this.touched.delete(this.touched.keys().next().value!);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
