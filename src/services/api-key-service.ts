import { createHash, randomInt } from 'node:crypto';
import { AppError } from '../domain/errors.ts';
import { isGuid } from '../domain/ids.ts';
import { contentScopeGuid, type Actor, type ApiKey, type ContentKeyScope, type User } from '../domain/user.ts';
import type { ApiKeyRepo } from '../repositories/api-key-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { AuditLog } from './audit-log.ts';
import { ShortCache } from './short-cache.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// 32 characters like Connect's keys (about 190 bits): long enough that SHA-256 alone,
// without a slow hash, makes the stored value useless to an attacker.
const KEY_LENGTH = 32;
// Recording last use on every request would turn every read into a write.
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * The key a client presented: `Authorization: Key <k>` or `X-RSC-Authorization: <k>`. Takes
 * raw headers so the API, the content proxy and WebSocket upgrades share one parser.
 */
export function keyFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Key\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const rsc = headers['x-rsc-authorization'];
  return typeof rsc === 'string' && rsc.trim() ? rsc.trim() : undefined;
}

function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function generateKey(): string {
  let out = '';
  for (let i = 0; i < KEY_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** Who a key acts as, and, for a content process's key, the item it is confined to. */
export interface KeyAuthentication {
  user: User;
  key: ApiKey;
  /** Set for a content process's key: the caller must confine it (read-only, that item). */
  scope: ContentKeyScope | null;
}

export interface CreateKeyOptions {
  /** See `ApiKey.scope`; only the server makes scoped keys. */
  scope?: string | null;
  /** Must be in the future. */
  expiresAt?: Date | null;
}

export class ApiKeyService {
  private readonly cache: ShortCache<KeyAuthentication> | undefined;

  /** `generation`: the database's write count, to cache key lookups (the proxy checks one per request). */
  constructor(
    private readonly keys: ApiKeyRepo,
    private readonly users: UserRepo,
    private readonly audit: AuditLog,
    generation?: () => number,
  ) {
    this.cache = generation ? new ShortCache(generation) : undefined;
  }

  /** The secret is returned here and never again: only its hash is stored. */
  async create(actor: Actor, user: User, name: string, opts: CreateKeyOptions = {}): Promise<{ key: ApiKey; secret: string }> {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > 128) throw AppError.badRequest('A key name must be 1 to 128 characters.');
    const expiresAt = opts.expiresAt ?? null;
    if (expiresAt && !(expiresAt.getTime() > Date.now())) throw AppError.badRequest('expires_at must be in the future.');
    const secret = generateKey();
    const key = await this.keys.create(user.id, trimmed, hashApiKey(secret), secret.slice(-4), { scope: opts.scope ?? null, expiresAt });
    await this.audit.record(
      actor,
      'key.create',
      { type: 'api_key', id: key.guid },
      { owner: user.guid, name: key.name, scope: key.scope, expires_at: key.expiresAt?.toISOString() ?? null },
    );
    return { key, secret };
  }

  list(user: User): Promise<ApiKey[]> {
    return this.keys.listForUser(user.id);
  }

  async delete(actor: Actor, user: User, keyGuid: string): Promise<void> {
    const key = isGuid(keyGuid) ? await this.keys.byGuidForUser(user.id, keyGuid) : undefined;
    if (!key) throw AppError.notFound('The requested API key does not exist.');
    await this.keys.delete(key.id);
    await this.audit.record(actor, 'key.delete', { type: 'api_key', id: key.guid }, { owner: user.guid, name: key.name });
  }

  /**
   * Resolves a presented key to its user, or throws the 401 clients recognise (code 30).
   * A content process's key is refused (403) unless the caller says it confines such keys
   * (`scoped: true`) and then does so with the returned `scope`: a caller that forgets fails closed.
   */
  async authenticate(secret: string, opts: { scoped?: boolean } = {}): Promise<KeyAuthentication> {
    // Only successes are cached: a key created or a user unlocked elsewhere (the CLI, another
    // node) works at once; a revocation made elsewhere takes effect within the cache's 2 s.
    // Keyed by the key as presented, which the request holds anyway: a hit costs no hashing.
    const found = this.cache ? await this.cache.get(secret, () => this.authenticateUncached(secret)) : await this.authenticateUncached(secret);
    // Checked on every use, cached or not: an expired key fails the moment it expires.
    if (found.key.expiresAt && found.key.expiresAt.getTime() <= Date.now()) throw AppError.invalidKey();
    if (found.scope && !opts.scoped) throw AppError.forbidden("A content process's API key cannot be used here.");
    return found;
  }

  private async authenticateUncached(secret: string): Promise<KeyAuthentication> {
    const key = secret.length === KEY_LENGTH ? await this.keys.byHash(hashApiKey(secret)) : undefined;
    if (!key) throw AppError.invalidKey();
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw AppError.invalidKey();
    let scope: ContentKeyScope | null = null;
    if (key.scope !== null) {
      // A scope this server does not know, or content that is gone: the key is worth nothing.
      const contentGuid = contentScopeGuid(key);
      const contentId = contentGuid && isGuid(contentGuid) ? await this.keys.contentIdByGuid(contentGuid) : undefined;
      if (!contentGuid || contentId === undefined) throw AppError.invalidKey();
      scope = { contentGuid, contentId };
    }
    const user = await this.users.byId(key.userId);
    if (!user) throw AppError.invalidKey();
    if (user.locked) throw AppError.invalidKey('The specified API key belongs to a locked user.');
    const now = new Date();
    if (!key.lastUsedTime || now.getTime() - key.lastUsedTime.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.keys.touchUsed(key.id, now);
      await this.users.touchActive(user.id, now);
    }
    return { user, key, scope };
  }
}
