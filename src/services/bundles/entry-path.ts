import path from 'node:path';
import { AppError, ErrorCode } from '../../domain/errors.ts';

/** Longest accepted entry path and path segment, in UTF-8 bytes (Linux's PATH_MAX / NAME_MAX). */
const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;

export function refuse(entryPath: string, reason: string): AppError {
  return AppError.badRequest(`bundle entry ${JSON.stringify(entryPath)} ${reason}`, ErrorCode.invalidParameter);
}

/**
 * Turns a tar entry name into the canonical relative posix path it will have in the bundle, or
 * throws. Returns '' for the archive root (`./`), which R's tar writes as a directory entry.
 *
 * Only a leading `./` (R's style) and, for directories, a trailing `/` are normalised. Anything
 * else that is not already canonical is refused rather than cleaned up: a name that needs
 * interpretation is a name two tools may interpret differently, and exact names are what make
 * the duplicate and collision checks sound.
 */
export function bundlePath(raw: string, isDirectory: boolean): string {
  if (raw.includes('\0')) throw refuse(raw, 'has a NUL byte in its name');
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw refuse(raw, `has a name longer than ${MAX_PATH_BYTES} bytes`);
  if (raw.includes('\\')) throw refuse(raw, 'has a backslash in its name (Windows paths are not accepted)');
  // Control characters have no place in a file name and make messages and logs lie.
  if (/[\u0001-\u001f\u007f]/.test(raw)) throw refuse(raw, 'has a control character in its name');
  if (raw.startsWith('/')) throw refuse(raw, 'is an absolute path');
  if (/^[A-Za-z]:/.test(raw)) throw refuse(raw, 'starts with a Windows drive letter');

  let p = raw;
  while (p.startsWith('./')) p = p.slice(2);
  if (isDirectory) p = p.replace(/\/+$/, '');
  if (p === '' || p === '.') {
    if (isDirectory) return '';
    throw refuse(raw, 'has an empty name');
  }
  for (const segment of p.split('/')) {
    if (segment === '..') throw refuse(raw, 'escapes the bundle directory');
    if (segment === '' || segment === '.') throw refuse(raw, 'is not a normalised path (empty or "." segment)');
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw refuse(raw, `has a path segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  return p;
}

/**
 * Where a link entry points, as a bundle path, or throws. Symbolic link targets are relative to
 * the link's directory; hard link targets name another archive entry, so relative to the root.
 */
export function linkTarget(entryPath: string, linkpath: string, kind: 'symlink' | 'hardlink'): string {
  const what = kind === 'symlink' ? 'is a symbolic link' : 'is a hard link';
  if (linkpath.includes('\0') || linkpath.includes('\\') || /[\u0001-\u001f\u007f]/.test(linkpath)) {
    throw refuse(entryPath, `${what} with an unusable target ${JSON.stringify(linkpath)}`);
  }
  if (linkpath.startsWith('/') || /^[A-Za-z]:/.test(linkpath)) {
    throw refuse(entryPath, `${what} to ${JSON.stringify(linkpath)}, outside the bundle directory`);
  }
  const base = kind === 'symlink' ? path.posix.dirname(entryPath) : '.';
  const joined = path.posix.normalize(path.posix.join(base, linkpath));
  if (joined === '..' || joined.startsWith('../')) {
    throw refuse(entryPath, `${what} to ${JSON.stringify(linkpath)}, which escapes the bundle directory`);
  }
  if (joined === '.' || joined === '') {
    throw refuse(entryPath, `${what} to the bundle directory itself; only links to files are accepted`);
  }
  return joined.replace(/\/+$/, '');
}
