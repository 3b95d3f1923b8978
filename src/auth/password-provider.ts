import type { AuditLog } from '../services/audit-log.ts';
import type { LoginThrottle } from '../services/login-throttle.ts';
import type { UserService } from '../services/user-service.ts';
import type { LoginOutcome, PasswordLoginProvider } from './provider.ts';

const WRONG_CREDENTIALS = 'Wrong username or password.';

export interface PasswordProviderDeps {
  users: UserService;
  throttle: LoginThrottle;
  audit: AuditLog;
}

/** Lectern's own accounts: the password stored (argon2id) with the user. */
export function passwordProvider(d: PasswordProviderDeps): PasswordLoginProvider {
  return {
    name: 'local',
    kind: 'password',
    async login(username, password, { ip }): Promise<LoginOutcome> {
      const actor = { userId: null, ip, via: 'web' as const };
      // The try is counted before the password is checked, so guesses sent at once are
      // refused once the budget is spent instead of all being checked.
      const wait = await d.throttle.reserve(username, ip);
      if (wait > 0) {
        await d.audit.record(actor, 'login.throttled', { type: 'user', id: username }, { retry_after: wait });
        return { ok: false, failure: { status: 429, retryAfter: wait, message: `Too many failed logins. Try again in ${Math.ceil(wait / 60)} minute(s).` } };
      }
      const result = await d.users.verifyLogin(username, password);
      if (!result.ok) {
        await d.audit.record(
          { ...actor, userId: result.user?.id ?? null },
          'login.failure',
          { type: 'user', id: result.user?.guid ?? username },
          { reason: result.reason },
        );
        // A locked account gets the wrong password's answer: the page must not tell a
        // guesser that the name exists, or that the password was right. The audit log says why.
        return { ok: false, failure: { status: 401, message: WRONG_CREDENTIALS } };
      }
      await d.throttle.recordSuccess(username, ip);
      await d.audit.record({ ...actor, userId: result.user.id }, 'login.success', { type: 'user', id: result.user.guid });
      return { ok: true, user: result.user };
    },
  };
}
