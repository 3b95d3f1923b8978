import { AppError } from '../domain/errors.ts';
import type { User } from '../domain/user.ts';
import type { ApiKeyService } from './api-key-service.ts';
import type { UserService } from './user-service.ts';

export interface FirstAdmin {
  user: User;
  password: string;
  apiKey: string;
  /** The key's id, to revoke it (DELETE /__api__/v1/user/api_keys/{id}, or the home page). */
  apiKeyId: string;
}

/**
 * On a server with no users, create the first administrator with a generated one-time
 * password (changed at first login) and an API key. Returns undefined when users exist, so
 * the credentials are shown exactly once.
 */
export async function createFirstAdmin(users: UserService, keys: ApiKeyService): Promise<FirstAdmin | undefined> {
  if ((await users.count()) > 0) return undefined;
  const actor = { userId: null, via: 'system' as const };
  let created;
  try {
    created = await users.create(actor, { username: 'admin', role: 'administrator' });
  } catch (err) {
    // Another node sharing the database created it first: it printed the credentials.
    if (err instanceof AppError && err.status === 409) return undefined;
    throw err;
  }
  const { user, generatedPassword } = created;
  const { key, secret } = await keys.create(actor, user, 'first-run');
  return { user, password: generatedPassword!, apiKey: secret, apiKeyId: key.guid };
}
