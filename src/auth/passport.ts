import { Passport } from 'passport';
import { Strategy as LocalStrategy, type IVerifyOptions } from 'passport-local';
import type { UserService } from '../services/user-service.ts';
import type { LoginFailure, LoginProvider } from './provider.ts';

export type LecternPassport = InstanceType<typeof Passport>;

/** What passport hands the login page when a password login fails. */
export type PassportFailure = IVerifyOptions & LoginFailure;

/**
 * One passport instance per app (tests build several apps in one process), with a strategy
 * per password provider, named after it. Redirect and header providers get theirs when the
 * first of them lands.
 */
export function createPassport(providers: readonly LoginProvider[], users: UserService): LecternPassport {
  const passport = new Passport();

  for (const provider of providers) {
    if (provider.kind !== 'password') continue;
    passport.use(
      provider.name,
      new LocalStrategy({ passReqToCallback: true }, (req, username, password, done) => {
        provider
          .login(username, password, { ip: req.ip ?? 'unknown' })
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
