import type { User as DomainUser } from '../domain/user.ts';

// Passport puts the logged-in user on req.user; Lectern's user is the domain User. How the
// request was authenticated decides whether a CSRF token is required (sessions only).
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends DomainUser {}
    interface Request {
      authVia?: 'key' | 'session';
    }
  }
}

export {};
