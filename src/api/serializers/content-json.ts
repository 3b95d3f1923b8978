import { appModeOrdinal } from '../../domain/app-modes.ts';
import { CONTENT_SETTING_KEYS, type Bundle, type Content, type ContentRole, type Permission, type Task } from '../../domain/content.ts';
import type { User } from '../../domain/user.ts';
import { iso } from './iso.ts';

export interface Urls {
  content: string;
  dashboard: string;
}

export function contentUrls(base: string, c: Content): Urls {
  return { content: `${base}/content/${c.guid}/`, dashboard: `${base}/connect/#/apps/${c.guid}` };
}

/**
 * Connect's ContentItemV1 (connect-api.md §5.3): ids as strings, app_mode as its name.
 * `role` is the requesting user's (AccessPolicy), sent as `app_role`.
 */
export function contentV1(c: Content, owner: User | undefined, role: ContentRole, base: string, includeOwner = false) {
  const urls = contentUrls(base, c);
  const settings = Object.fromEntries(CONTENT_SETTING_KEYS.map((k) => [k, c[k]]));
  return {
    guid: c.guid,
    name: c.name,
    title: c.title,
    description: c.description,
    access_type: c.accessType,
    locked: c.locked,
    locked_message: c.lockedMessage,
    ...settings,
    amd_gpu_limit: null,
    nvidia_gpu_limit: null,
    service_account_name: null,
    created_time: iso(c.createdTime),
    last_deployed_time: iso(c.lastDeployedTime),
    bundle_id: c.bundleId === null ? null : String(c.bundleId),
    app_mode: c.appMode,
    content_category: c.contentCategory,
    parameterized: c.parameterized,
    cluster_name: 'Local',
    image_name: null,
    r_version: null,
    py_version: null,
    quarto_version: null,
    r_environment_management: null,
    py_environment_management: null,
    owner_guid: owner?.guid ?? null,
    content_url: urls.content,
    dashboard_url: urls.dashboard,
    app_role: role,
    id: String(c.id),
    ...(includeOwner && owner ? { owner: { guid: owner.guid, username: owner.username, first_name: owner.firstName, last_name: owner.lastName } } : {}),
  };
}

/** The v0 "application" (AppV0): numeric ids, the app mode as its ordinal, `url`. */
export function appV0(c: Content, owner: User | undefined, role: ContentRole, base: string) {
  const urls = contentUrls(base, c);
  return {
    id: c.id,
    guid: c.guid,
    name: c.name,
    title: c.title,
    description: c.description,
    url: urls.content,
    owner_guid: owner?.guid ?? null,
    owner_username: owner?.username ?? null,
    owner_first_name: owner?.firstName ?? null,
    owner_last_name: owner?.lastName ?? null,
    owner_email: owner?.email ?? null,
    owner_locked: owner?.locked ?? false,
    bundle_id: c.bundleId,
    app_mode: appModeOrdinal(c.appMode),
    content_category: c.contentCategory,
    has_parameters: c.parameterized,
    access_type: c.accessType,
    locked: c.locked,
    locked_message: c.lockedMessage,
    created_time: iso(c.createdTime),
    last_deployed_time: iso(c.lastDeployedTime),
    build_status: c.bundleId === null ? 0 : 2,
    app_role: role,
    ...Object.fromEntries(CONTENT_SETTING_KEYS.map((k) => [k, c[k]])),
  };
}

/** Connect's BundleMetadata (v1: string ids). */
export function bundleV1(b: Bundle, c: Content) {
  return {
    id: String(b.id),
    content_guid: c.guid,
    created_time: iso(b.createdTime),
    cluster_name: null,
    image_name: null,
    r_version: b.rVersion,
    py_version: b.pyVersion,
    quarto_version: b.quartoVersion,
    active: c.bundleId === b.id,
    size: b.size,
    metadata: {
      source: null,
      source_repo: null,
      source_branch: null,
      source_commit: null,
      archive_md5: b.archiveMd5,
      archive_sha1: null,
      ...b.metadata,
    },
    app_mode: b.appMode,
    built: b.built,
  };
}

/** v0 bundles carry numeric ids: rsconnect R 0.8.29 sends the id back as a JSON number. */
export function bundleV0(b: Bundle, c: Content) {
  return { ...bundleV1(b, c), id: b.id, app_id: c.id };
}

export function taskV1(t: Task, lines: string[], last: number) {
  return { id: t.id, output: lines, result: t.result ?? null, finished: t.finished, code: t.code, error: t.error, last, user_id: t.userId };
}

export function taskV0(t: Task, lines: string[], last: number) {
  return { id: t.id, user_id: t.userId, status: lines, result: t.result ?? null, finished: t.finished, code: t.code, error: t.error, last_status: last };
}

/** Connect's v1 ContentPermission: string ids, the principal by guid. */
export function permissionV1(p: Permission, c: Content) {
  return { id: String(p.id), content_guid: c.guid, principal_guid: p.principalGuid, principal_type: p.principalType, role: p.role };
}
