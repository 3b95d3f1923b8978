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
  'connection_timeout', 'read_timeout', 'init_timeout', 'idle_timeout', 'max_processes', 'min_processes',
  'max_conns_per_process', 'load_factor', 'memory_request', 'memory_limit', 'cpu_request', 'cpu_limit',
  'default_image_name', 'run_as', 'run_as_current_user', 'default_r_environment_management',
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
