import type { User } from '../domain/user.ts';
import type { AuditLog } from '../services/audit-log.ts';
import type { LoginThrottle } from '../services/login-throttle.ts';
import type { LoginAttempt, LoginFailure, LoginOutcome } from './provider.ts';

const WRONG_CREDENTIALS = 'Wrong username or password.';

/** What a provider's check found: a user, or why not (the audit log's reason). */
export type LoginCheck =
  | { ok: true; user: User }
  | {
      ok: false;
      /** Short and stable (`bad-credentials`, `locked`, `no-such-user`, ...): the audit log's reason. */
      reason: string;
      user?: User | undefined;
      /** What the page shows; the wrong-credentials answer unless the provider says more. */
      failure?: Partial<LoginFailure> | undefined;
      /** More for the audit entry. */
      details?: Record<string, unknown> | undefined;
    };

/**
 * What every login goes through, whichever provider checks it: the throttle (per provider,
 * username and client address, and per address), then the provider's check, then the audit
 * entry (`login.success`, `login.failure` with the reason, `login.throttled`), each with the
 * provider's name. A provider only says who it found, or why not.
 */
export class LoginGate {
  constructor(
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditLog,
  ) {}

  async run(provider: string, username: string, attempt: LoginAttempt, check: () => Promise<LoginCheck>): Promise<LoginOutcome> {
    const actor = { userId: null, ip: attempt.ip, via: 'web' as const };
    const key = `${provider}:${username}`;
    // The try is counted before the check (a password hash, a bind), so guesses sent at once
    // are refused once the budget is spent instead of all being checked.
    const wait = await this.throttle.reserve(key, attempt.ip);
    if (wait > 0) {
      await this.audit.record(actor, 'login.throttled', { type: 'user', id: username }, { provider, username, retry_after: wait });
      return { ok: false, failure: { status: 429, retryAfter: wait, message: `Too many failed logins. Try again in ${Math.ceil(wait / 60)} minute(s).` } };
    }
    const result = await check();
    if (!result.ok) {
      await this.audit.record(
        { ...actor, userId: result.user?.id ?? null },
        'login.failure',
        { type: 'user', id: result.user?.guid ?? username },
        { provider, username, reason: result.reason, ...result.details },
      );
      // A locked account gets the wrong password's answer unless the provider says otherwise:
      // the page must not tell a guesser that the name exists, or that the password was right.
      return { ok: false, failure: { status: 401, message: WRONG_CREDENTIALS, ...result.failure } };
    }
    await this.throttle.recordSuccess(key, attempt.ip);
    await this.audit.record(
      { ...actor, userId: result.user.id },
      'login.success',
      { type: 'user', id: result.user.guid },
      { provider, username: result.user.username },
    );
    return { ok: true, user: result.user };
  }

  /** A login the provider refused before knowing anyone (a bad signature, a replayed state). */
  async refuse(provider: string, reason: string, attempt: LoginAttempt, claimed?: string, message?: string): Promise<LoginOutcome> {
    await this.audit.record(
      { userId: null, ip: attempt.ip, via: 'web' },
      'login.failure',
      { type: 'user', id: claimed ?? 'unknown' },
      { provider, reason, ...(claimed === undefined ? {} : { username: claimed }) },
    );
    return { ok: false, failure: { status: 401, message: message ?? `The login with ${provider} failed. Try again, or ask an administrator.` } };
  }
}
