import { Passport } from 'passport';
import { Strategy as LocalStrategy, type IVerifyOptions } from 'passport-local';
import type { UserService } from '../services/user-service.ts';
import type { LoginFailure, LoginProvider, PasswordLoginProvider } from './provider.ts';

export type LecternPassport = InstanceType<typeof Passport>;

/** What passport hands the login page when a password login fails. */
export type PassportFailure = IVerifyOptions & LoginFailure;

/** The strategy the login form posts to (the password providers behind one form). */
export const LOGIN_FORM = 'login-form';

/**
 * The one login form in front of every password provider (Lectern's own, LDAP): a username
 * that is a Lectern account with a password of its own goes to Lectern's check; any other
 * to the first other password provider (the directory). So each try is checked once, by
 * one provider, throttled and audited once; and a directory account never shadows a local
 * one of the same name (nor the reverse: a remote user has no Lectern password).
 */
function loginForm(providers: readonly LoginProvider[], users: Pick<UserService, 'hasPassword'>): PasswordLoginProvider | undefined {
  const form = providers.filter((p): p is PasswordLoginProvider => p.kind === 'password');
  const local = form.find((p) => p.name === 'local');
  const other = form.find((p) => p !== local);
  if (!local || !other) return local ?? other;
  return {
    name: LOGIN_FORM,
    kind: 'password',
    login: async (username, password, attempt) => ((await users.hasPassword(username)) ? local : other).login(username, password, attempt),
  };
}

/**
 * One passport instance per app (tests build several apps in one process), with the login
 * form's strategy. Redirect providers have routes of their own; header providers are asked
 * by the browser session's middleware.
 */
export function createPassport(providers: readonly LoginProvider[], users: UserService): LecternPassport {
  const passport = new Passport();
  const form = loginForm(providers, users);
  if (form) {
    passport.use(
      LOGIN_FORM,
      new LocalStrategy({ passReqToCallback: true }, (req, username, password, done) => {
        // Trimmed before anything: ` alice` must not be a second throttle budget, nor skip the
        // local account `alice` and go to the directory.
        form
          .login(username.trim(), password, { ip: req.ip ?? 'unknown', peer: req.socket.remoteAddress })
          .then((outcome) => (outcome.ok ? done(null, outcome.user) : done(null, false, outcome.failure satisfies PassportFailure)))
          .catch((err: unknown) => done(err));
      }),
    );
  }

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
