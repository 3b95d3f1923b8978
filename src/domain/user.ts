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
}

/** Where an action came from, for the audit log. */
export interface Actor {
  userId: number | null;
  ip?: string | undefined;
  via: 'api' | 'web' | 'cli' | 'system';
}
