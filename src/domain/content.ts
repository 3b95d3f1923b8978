import { AppError, ErrorCode } from './errors.ts';

export const ACCESS_TYPES = ['all', 'logged_in', 'acl'] as const;
export type AccessType = (typeof ACCESS_TYPES)[number];

/** Settings stored per content item under Connect's field names; null means the server default. */
export interface ContentSettings {
  connection_timeout: number | null;
  read_timeout: number | null;
  init_timeout: number | null;
  idle_timeout: number | null;
  max_processes: number | null;
  min_processes: number | null;
  max_conns_per_process: number | null;
  load_factor: number | null;
  memory_request: number | null;
  memory_limit: number | null;
  cpu_request: number | null;
  cpu_limit: number | null;
  default_image_name: string | null;
  run_as: string | null;
  run_as_current_user: boolean;
  default_r_environment_management: boolean | null;
  default_py_environment_management: boolean | null;
}

export const CONTENT_SETTING_KEYS = [
  'connection_timeout',
  'read_timeout',
  'init_timeout',
  'idle_timeout',
  'max_processes',
  'min_processes',
  'max_conns_per_process',
  'load_factor',
  'memory_request',
  'memory_limit',
  'cpu_request',
  'cpu_limit',
  'default_image_name',
  'run_as',
  'run_as_current_user',
  'default_r_environment_management',
  'default_py_environment_management',
] as const satisfies ReadonlyArray<keyof ContentSettings>;

export interface Content extends ContentSettings {
  id: number;
  guid: string;
  name: string;
  title: string | null;
  description: string;
  ownerId: number;
  appMode: string;
  contentCategory: string;
  accessType: AccessType;
  parameterized: boolean;
  /** The active bundle: what viewers get. */
  bundleId: number | null;
  createdTime: Date;
  updatedTime: Date;
  lastDeployedTime: Date | null;
  /** Connect's lock: the item serves `lockedMessage` instead of itself, runs nothing, takes no deploys. */
  locked: boolean;
  /** Markdown, shown to visitors of a locked item (as text: it is never rendered as HTML). */
  lockedMessage: string;
}

export interface Bundle {
  id: number;
  contentId: number;
  uploadedBy: number | null;
  size: number;
  appMode: string;
  primaryFile: string | null;
  rVersion: string | null;
  pyVersion: string | null;
  quartoVersion: string | null;
  archiveMd5: string | null;
  metadata: Record<string, unknown>;
  built: boolean;
  createdTime: Date;
}

export interface Task {
  id: string;
  contentId: number | null;
  bundleId: number | null;
  userId: number | null;
  kind: string;
  activate: boolean;
  finished: boolean;
  code: number;
  error: string;
  result: unknown;
  createdTime: Date;
  finishedTime: Date | null;
}

/**
 * What a person may do with a content item (Connect's `app_role`): its owner; an editor
 * (administrators and collaborators) who may change it; a viewer who may only open it; none.
 */
const CONTENT_ROLES = ['owner', 'editor', 'viewer', 'none'] as const;
export type ContentRole = (typeof CONTENT_ROLES)[number];

/** A permission's role in Connect's API: `owner` makes a collaborator, `viewer` a viewer. */
export const PERMISSION_ROLES = ['owner', 'viewer'] as const;
export type PermissionRole = (typeof PERMISSION_ROLES)[number];

export const PRINCIPAL_TYPES = ['user', 'group'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

/** One grant on a content item, to a user or to a group. */
export interface Permission {
  id: number;
  contentId: number;
  principalType: PrincipalType;
  /** The user's or the group's numeric id. */
  principalId: number;
  principalGuid: string;
  role: PermissionRole;
  createdTime: Date;
}

/** A named set of users that permissions can be granted to. */
export interface Group {
  id: number;
  guid: string;
  name: string;
  /** Who created it; null once that user is gone (then administrators manage it). */
  ownerId: number | null;
  ownerGuid: string | null;
  /**
   * The identity provider that keeps this group (`ldap`, an OIDC or SAML provider's name):
   * its members are synced from there at each login, and Lectern refuses local changes.
   * null: a group made in Lectern.
   */
  source: string | null;
  createdTime: Date;
  updatedTime: Date;
}

/** Connect refuses bundles and deploys to a locked item with LockedContentBundle (code 222). */
export function refuseLocked(c: Content): Content {
  if (c.locked) throw AppError.badRequest('This content is locked: unlock it before deploying to it.', ErrorCode.lockedContentBundle);
  return c;
}
