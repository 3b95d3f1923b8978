import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.ts';
import type { User } from '../domain/user.ts';
import { keyFromHeaders, type ApiKeyService } from '../services/api-key-service.ts';
import type { SessionReader } from './session-reader.ts';

export interface RequestIdentity {
  user: User | undefined;
  /** Identified by the browser session: a cross-site request could carry it (WebSocket origin checks). */
  viaCookie: boolean;
}

// The proxy's `/content/{guid}/` and a draft's `/content/{guid}/_bundle{id}/` (proxy/gateway.ts
// CONTENT_PATH; src/http does not import proxy/). Vanity paths are rewritten to it before this.
const CONTENT_PATH = /^\/content\/([0-9a-fA-F-]{36})\/(_bundle\d+\/)?/;

/**
 * Who sent a request, for the proxy (plain HTTP requests and WebSocket upgrades alike): the
 * API key if there is one (a bad one throws Connect's 401), else the browser session.
 * A content process's key reaches its own item's live bundle only, as a viewer would: not
 * other content its owner may see, not drafts (403).
 */
export function requestIdentity(keys: ApiKeyService, sessions: SessionReader, logger: Logger) {
  return async (req: IncomingMessage): Promise<RequestIdentity> => {
    const key = keyFromHeaders(req.headers);
    if (key) {
      const { user, scope } = await keys.authenticate(key, { scoped: true });
      if (scope) {
        const m = CONTENT_PATH.exec(req.url ?? '');
        if (!m || m[1]!.toLowerCase() !== scope.contentGuid || m[2]) throw AppError.forbidden("A content process's API key reaches only its own content.");
      }
      return { user, viaCookie: false };
    }
    const cookie = req.headers.cookie;
    if (!cookie) return { user: undefined, viaCookie: false };
    const { user, duplicate } = await sessions.read(cookie);
    if (duplicate) logger.warn({ url: req.url }, 'request carried several session cookies: treated as logged out');
    return { user, viaCookie: true };
  };
}
