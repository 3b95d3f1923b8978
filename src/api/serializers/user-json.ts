import type { ApiKey, User } from '../../domain/user.ts';
import { iso } from './iso.ts';

const PRIVILEGES: Record<User['role'], string[]> = {
  administrator: [
    'add_users',
    'add_vanities',
    'change_app_permissions',
    'change_apps',
    'change_groups',
    'change_usernames',
    'create_groups',
    'edit_run_as',
    'lock_users',
    'publish_apps',
    'remove_apps',
    'remove_groups',
    'remove_users',
    'remove_vanities',
    'view_app_settings',
    'view_apps',
  ],
  publisher: ['add_vanities', 'change_app_permissions', 'change_apps', 'create_groups', 'publish_apps', 'remove_apps', 'remove_vanities', 'view_app_settings'],
  viewer: [],
};

/** Connect's v1 UserRecord. */
export function userV1(u: User) {
  return {
    email: u.email,
    username: u.username,
    first_name: u.firstName,
    last_name: u.lastName,
    user_role: u.role,
    created_time: iso(u.createdTime),
    updated_time: iso(u.updatedTime),
    active_time: iso(u.activeTime),
    confirmed: u.confirmed,
    locked: u.locked,
    guid: u.guid,
  };
}

/** The v0 shape (`/users/current`, `/me`): v1 plus a numeric id the R client stores as accountId. */
export function userV0(u: User) {
  return { ...userV1(u), id: u.id, password: '', privileges: PRIVILEGES[u.role] };
}

export function apiKeyJson(k: ApiKey) {
  return {
    id: k.guid,
    name: k.name,
    hint: k.hint,
    created_time: iso(k.createdTime),
    last_used_time: iso(k.lastUsedTime),
    expires_at: iso(k.expiresAt),
  };
}
