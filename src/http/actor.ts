import type { Request } from 'express';
import type { Actor } from '../domain/user.ts';

/** Who did it and from where, for the audit log. */
export function actorOf(req: Request, via: Actor['via'] = 'api'): Actor {
  return { userId: req.user?.id ?? null, ip: req.ip, via };
}
