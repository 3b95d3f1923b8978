import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { User } from '../domain/user.ts';
import { keyFromHeaders, type ApiKeyService } from '../services/api-key-service.ts';
import type { SessionReader } from './session-reader.ts';

export interface RequestIdentity {
  user: User | undefined;
  /** Identified by the browser session: a cross-site request could carry it (WebSocket origin checks). */
  viaCookie: boolean;
}

/**
 * Who sent a request, for the proxy (plain HTTP requests and WebSocket upgrades alike): the
 * API key if there is one (a bad one throws Connect's 401), else the browser session.
 */
export function requestIdentity(keys: ApiKeyService, sessions: SessionReader, logger: Logger) {
  return async (req: IncomingMessage): Promise<RequestIdentity> => {
    const key = keyFromHeaders(req.headers);
    if (key) return { user: (await keys.authenticate(key)).user, viaCookie: false };
    const cookie = req.headers.cookie;
    if (!cookie) return { user: undefined, viaCookie: false };
    const { user, duplicate } = await sessions.read(cookie);
    if (duplicate) logger.warn({ url: req.url }, 'request carried several session cookies: treated as logged out');
    return { user, viaCookie: true };
  };
}
