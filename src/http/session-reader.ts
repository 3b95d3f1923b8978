import { parse as parseCookies } from 'cookie';
import { unsign } from 'cookie-signature';
import { SESSION_COOKIE_NAME } from '../domain/session.ts';
import type { User } from '../domain/user.ts';
import type { SessionRepo } from '../repositories/session-repo.ts';
import { ShortCache } from '../services/short-cache.ts';

/** Who a session cookie belongs to, or why nobody: `duplicate` is a planted second cookie. */
export type SessionLookup = { user: User | undefined; duplicate: boolean };

/** How many times the session cookie appears: a second one is planted (see duplicate-session-cookie.ts). */
function sessionCookieCount(cookieHeader: string): number {
  let n = 0;
  for (const part of cookieHeader.split(';')) if (part.trimStart().startsWith(`${SESSION_COOKIE_NAME}=`)) n++;
  return n;
}

/**
 * Reads the browser session for the proxy, which sees every request a viewer's page makes and
 * must not pay express-session's full cost (or write to the database) on each. It reads the
 * cookie express-session signed, and the stored session and user, through a short cache that
 * any write by this process (a logout, a lock) voids. It never creates, saves or extends a
 * session: Lectern's pages do that.
 */
export class SessionReader {
  private readonly cache: ShortCache<User | undefined>;

  constructor(
    private readonly secret: string,
    private readonly sessions: SessionRepo,
    private readonly userById: (id: number) => Promise<User | undefined>,
    generation: () => number,
  ) {
    this.cache = new ShortCache(generation);
  }

  async read(cookieHeader: string | undefined): Promise<SessionLookup> {
    if (!cookieHeader) return { user: undefined, duplicate: false };
    const count = sessionCookieCount(cookieHeader);
    if (count === 0) return { user: undefined, duplicate: false };
    if (count > 1) return { user: undefined, duplicate: true };
    const raw = parseCookies(cookieHeader)[SESSION_COOKIE_NAME];
    if (!raw) return { user: undefined, duplicate: false };
    // Keyed by the signed cookie as sent: a hit checks no signature (the miss did).
    return { user: await this.cache.get(raw, () => this.loadSigned(raw)), duplicate: false };
  }

  private async loadSigned(raw: string): Promise<User | undefined> {
    // express-session's format: `s:` and the id signed with the server's secret.
    const sid = raw.startsWith('s:') ? unsign(raw.slice(2), this.secret) : false;
    return sid ? this.load(sid) : undefined;
  }

  private async load(sid: string): Promise<User | undefined> {
    const row = await this.sessions.get(sid);
    if (!row || row.expiresAt.getTime() <= Date.now()) return undefined;
    const id = (JSON.parse(row.data) as { passport?: { user?: unknown } }).passport?.user;
    if (typeof id !== 'number') return undefined;
    const user = await this.userById(id);
    return user && !user.locked ? user : undefined;
  }
}
