import { AppError } from './errors.ts';

/** Where a git-backed item's bundles come from, and what the last look at it found (Connect's GitLocationOutput). */
export interface GitLocation {
  contentId: number;
  repository: string;
  branch: string;
  /** Relative, normalised, `.` for the repository's root. */
  directory: string;
  polling: boolean;
  /** Lectern's own: a push to another branch deploys that branch as a draft. */
  previewBranches: boolean;
  lastError: string | null;
  lastKnownCommit: string | null;
  lastFetchedTime: Date | null;
  /** Whether credentials are stored (they are never read back out through the API). */
  hasCredentials: boolean;
  createdTime: Date;
  updatedTime: Date;
}

/** Credentials for a private https repository: a user name and a token (or password). */
export interface GitCredentials {
  username: string;
  token: string;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
// `user@host:path`, which git reads as ssh.
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)\S+$/;

/**
 * A repository URL git may be given: one of `protocols`, no credentials inside it (they belong
 * in `credentials`, which never reach a log or a command line), nothing git would take as an
 * option or a local path. `file://`, `ext::` and bare paths are refused whatever the protocols.
 */
export function checkRepositoryUrl(raw: string, protocols: readonly string[]): string {
  const url = raw.trim();
  if (url === '' || url.length > 2048 || CONTROL.test(url) || /\s/.test(url))
    throw AppError.badRequest('The repository must be a URL of at most 2048 characters, without spaces.');
  if (url.startsWith('-')) throw AppError.badRequest('The repository may not start with "-".');
  if (SCP_LIKE.test(url) && !url.includes('://')) {
    if (!protocols.includes('ssh')) throw AppError.badRequest('ssh repositories are not allowed on this server.');
    return url;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw AppError.badRequest(`The repository "${url}" is not a URL (https://host/owner/repo.git).`);
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (scheme === 'file' || !protocols.includes(scheme)) {
    throw AppError.badRequest(`Repositories may use ${protocols.join(', ')}; not ${scheme}.`);
  }
  if (!parsed.hostname) throw AppError.badRequest('The repository URL has no host.');
  if ((scheme === 'http' || scheme === 'https') && (parsed.username || parsed.password)) {
    throw AppError.badRequest('Put no credentials inside the repository URL: give them as "credentials": {"username", "token"}.');
  }
  return url;
}

/**
 * A branch name git accepts (`git check-ref-format --branch`, in the strict subset people use):
 * letters, digits and `._/-`, no `..`, no empty or dot-led segment, not `.lock`, not led by `-`.
 */
export function checkBranch(raw: string): string {
  const b = raw.trim();
  const ok =
    b.length > 0 &&
    b.length <= 255 &&
    /^[A-Za-z0-9._/-]+$/.test(b) &&
    !b.startsWith('-') &&
    !b.includes('..') &&
    !b.endsWith('.lock') &&
    b.split('/').every((s) => s !== '' && !s.startsWith('.'));
  if (!ok) throw AppError.badRequest(`"${raw}" is not a branch name (letters, digits, ".", "_", "/", "-"; no "..").`);
  return b;
}

/** A ref for one bundle: a branch, a tag or a commit; the same rules as a branch. */
export function checkRef(raw: string): string {
  return checkBranch(raw);
}

/**
 * The directory inside the repository that holds `manifest.json`: relative, within the
 * repository (no `..`, not absolute), normalised (`./app/` → `app`); `.` or empty for the root.
 */
export function normalizeDirectory(raw: string): string {
  if (raw.length > 1024 || CONTROL.test(raw) || raw.includes('\\'))
    throw AppError.badRequest('The directory must be a relative path of at most 1024 characters.');
  if (raw.startsWith('/')) throw AppError.badRequest('The directory must be relative to the repository, not absolute.');
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) throw AppError.badRequest('The directory may not leave the repository (".." is refused).');
  return segments.length ? segments.join('/') : '.';
}
