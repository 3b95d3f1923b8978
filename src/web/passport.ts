import { Passport } from 'passport';

export type LecternPassport = InstanceType<typeof Passport>;
import { Strategy as LocalStrategy, type IVerifyOptions } from 'passport-local';
import type { AuditLog } from '../services/audit-log.ts';
import type { LoginThrottle } from '../services/login-throttle.ts';
import type { UserService } from '../services/user-service.ts';

const WRONG_CREDENTIALS = 'Wrong username or password.';

export interface LoginFailure extends IVerifyOptions {
  status: 401 | 429;
  retryAfter?: number;
}

/** One passport instance per app (tests build several apps in one process). */
export function createPassport(users: UserService, throttle: LoginThrottle, audit: AuditLog): LecternPassport {
  const passport = new Passport();

  passport.use(
    new LocalStrategy({ passReqToCallback: true }, (req, username, password, done) => {
      const ip = req.ip ?? 'unknown';
      const actor = { userId: null, ip, via: 'web' as const };
      void (async () => {
        // The try is counted before the password is checked, so guesses sent at once are
        // refused once the budget is spent instead of all being checked.
        const wait = await throttle.reserve(username, ip);
        if (wait > 0) {
          await audit.record(actor, 'login.throttled', { type: 'user', id: username }, { retry_after: wait });
          const info: LoginFailure = { status: 429, retryAfter: wait, message: `Too many failed logins. Try again in ${Math.ceil(wait / 60)} minute(s).` };
          return done(null, false, info);
        }
        const result = await users.verifyLogin(username, password);
        if (!result.ok) {
          await audit.record({ ...actor, userId: result.user?.id ?? null }, 'login.failure', { type: 'user', id: result.user?.guid ?? username }, { reason: result.reason });
          // A locked account gets the wrong password's answer: the page must not tell a
          // guesser that the name exists, or that the password was right. The audit log says why.
          const info: LoginFailure = { status: 401, message: WRONG_CREDENTIALS };
          return done(null, false, info);
        }
        await throttle.recordSuccess(username, ip);
        await audit.record({ ...actor, userId: result.user.id }, 'login.success', { type: 'user', id: result.user.guid });
        done(null, result.user);
      })().catch((err: unknown) => done(err));
    }),
  );

  passport.serializeUser((user, done) => done(null, user.id));
  // Re-read on every request, so a lock or role change takes effect at once.
  passport.deserializeUser((id: number, done) => {
    users
      .byId(id)
      .then((user) => done(null, user && !user.locked ? user : false))
      .catch((err: unknown) => done(err));
  });
  return passport;
}
