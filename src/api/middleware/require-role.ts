import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../domain/errors.ts';
import type { User, UserRole } from '../../domain/user.ts';

export function currentUser(req: Request): User {
  if (!req.user) throw AppError.unauthorized();
  return req.user;
}

export function requireUser(req: Request, _res: Response, next: NextFunction) {
  currentUser(req);
  next();
}

export function requireRole(...roles: UserRole[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!roles.includes(currentUser(req).role)) throw AppError.forbidden();
    next();
  };
}

/** For what only a person at a browser (or the CLI, which does not come through here) may do: never with an API key. */
export function requireSession(message: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    currentUser(req);
    if (req.authVia !== 'session') throw AppError.forbidden(message);
    next();
  };
}
