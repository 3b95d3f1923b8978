import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../../src/domain/errors.ts';
import type { User } from '../../src/domain/user.ts';
import type { Handoff } from '../gateway.ts';
import type { HttpRelay } from '../relay.ts';

/**
 * What a worker's gateway learnt about a request it hands on to the owner's content pages
 * (static files, renders, login, error and "starting" pages): who asked, and why it was not
 * relayed. The owner looks the rest up again; these are the requests that are not hot.
 */
const HEADER = 'x-lectern-handoff';
const SECRET_HEADER = 'x-lectern-handoff-secret';

interface WireHandoff {
  userId: number | null;
  starting?: true;
  error?: { status: number; code: number; message: string; payload: unknown; retryAfter?: number };
}

/** A client must never speak for a worker. */
export function stripHandoffHeaders(req: IncomingMessage): void {
  delete req.headers[HEADER];
  delete req.headers[SECRET_HEADER];
}

/** In a worker: the request, as it came in, to the owner's content pages. */
export function handOff(relay: HttpRelay, target: string, secret: string) {
  return async (req: IncomingMessage, res: ServerResponse, h: Handoff | undefined): Promise<void> => {
    if (h) {
      const wire: WireHandoff = {
        userId: h.user?.id ?? null,
        ...(h.starting ? { starting: true as const } : {}),
        ...(h.error
          ? { error: { status: h.error.status, code: h.error.code, message: h.error.message, payload: h.error.payload, retryAfter: h.error.retryAfter } }
          : {}),
      };
      req.headers[HEADER] = Buffer.from(JSON.stringify(wire)).toString('base64url');
      req.headers[SECRET_HEADER] = secret;
    }
    try {
      await relay.forward(req, res, target, { readTimeoutMs: 0, idleTimeoutMs: 0, own: true });
    } catch {
      if (!res.headersSent)
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '2' }).end('Lectern is restarting. Try again in a moment.');
    }
  };
}

/**
 * In the owner: the handoff a worker sent with a request, believed only with the secret, as
 * the gateway's own (proxy/gateway.ts handoffOf) would be.
 */
export async function readHandoff(req: IncomingMessage, secret: string, userById: (id: number) => Promise<User | undefined>): Promise<Handoff | undefined> {
  const raw = req.headers[HEADER];
  const presented = req.headers[SECRET_HEADER];
  stripHandoffHeaders(req);
  if (typeof raw !== 'string' || typeof presented !== 'string') return undefined;
  const a = Buffer.from(presented);
  const b = Buffer.from(secret);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
  const wire = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as WireHandoff;
  const user = wire.userId === null ? undefined : await userById(wire.userId);
  const e = wire.error;
  return {
    user,
    ...(wire.starting ? { starting: true } : {}),
    ...(e ? { error: new AppError(e.status, e.code, e.message, e.payload, e.retryAfter) } : {}),
  };
}
