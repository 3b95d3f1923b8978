export const USER_ROLES = ['administrator', 'publisher', 'viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface User {
  id: number;
  guid: string;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  role: UserRole;
  locked: boolean;
  confirmed: boolean;
  /** Set for a generated password (first run, admin-created): the next login must change it. */
  mustChangePassword: boolean;
  createdTime: Date;
  updatedTime: Date;
  activeTime: Date | null;
}

export interface ApiKey {
  id: number;
  guid: string;
  userId: number;
  name: string;
  /** The last characters of the key, so a person can tell keys apart without the secret. */
  hint: string;
  createdTime: Date;
  lastUsedTime: Date | null;
  /** After this the key is refused like one that does not exist; null: it does not expire. */
  expiresAt: Date | null;
  /** null: a full key of its user. `content:<guid>`: a content process's key (see `contentScopeGuid`). */
  scope: string | null;
}

const CONTENT_SCOPE = 'content:';

/** The scope of the key a content process gets: that item, read-only. */
export function contentScope(contentGuid: string): string {
  return `${CONTENT_SCOPE}${contentGuid.toLowerCase()}`;
}

/** The content a process key belongs to; undefined for a full key. */
export function contentScopeGuid(key: Pick<ApiKey, 'scope'>): string | undefined {
  return key.scope?.startsWith(CONTENT_SCOPE) ? key.scope.slice(CONTENT_SCOPE.length) : undefined;
}

/** What a content process's key was made for, as authentication resolves it. */
export interface ContentKeyScope {
  contentGuid: string;
  contentId: number;
}

/** Where an action came from, for the audit log. */
export interface Actor {
  userId: number | null;
  ip?: string | undefined;
  via: 'api' | 'web' | 'cli' | 'system';
}
