import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ReadEntry } from 'tar';
import { AppError, ErrorCode } from '../../domain/errors.ts';
import { parseManifest, type Manifest } from '../../domain/manifest.ts';
import { BundleTree } from './bundle-tree.ts';
import { bundlePath, linkTarget, refuse } from './entry-path.ts';
import { writeEntryFile } from './write-entry.ts';
import { readTarEntries, tooLarge } from './tar-reader.ts';

export interface ExtractLimits {
  /** Total uncompressed bytes of regular files (link copies included). */
  maxBytes: number;
  /** Number of regular files (link copies included). */
  maxFiles: number;
}

export interface ExtractedBundle {
  manifest: Manifest;
  /** Relative posix paths of the regular files, sorted; manifest.json included. */
  files: string[];
  checksumMismatches: Array<{ path: string; expected: string; actual: string }>;
  /** Listed in manifest.files but absent from the archive (tolerated). */
  missingFiles: string[];
  totalBytes: number;
}

// Headers, pax records and padding a legitimate entry can need on top of its data.
const ENTRY_OVERHEAD = 8 * 1024;
const MAX_LINK_HOPS = 40;

interface FileInfo {
  md5: string;
  size: number;
  mode: number;
}
interface PendingLink {
  path: string;
  target: string;
  raw: string;
}

/**
 * Unpacks a bundle archive into `destDir` (which must not exist; its parent must). The archive
 * is unpacked into a sibling `<destDir>.partial-<random>` and renamed into place only once it
 * has been read completely and its manifest parsed, so `destDir` is either whole or absent.
 *
 * Every refusal is an AppError 400 naming the entry and the reason (413 for a limit). Policy:
 * - names: a leading `./` is dropped; absolute, `..`, backslash, drive-letter, NUL, control
 *   characters, empty or unnormalised segments, > 4096-byte paths and > 255-byte segments are
 *   refused;
 * - types: regular files and directories; devices, FIFOs and unknown types are refused;
 * - links: a symbolic or hard link is accepted only if it resolves, inside the bundle, to a
 *   regular file; it is written as a copy of that file, so the result contains no links;
 * - a path may be declared once (directories may repeat); file/directory clashes are refused;
 * - files are 0644, or 0755 if any execute bit was set; directories 0755; owners and times
 *   from the archive are ignored;
 * - limits are counted on the bytes actually written; directories are capped at
 *   max(maxFiles, 1000) and the decompressed stream at maxBytes plus per-entry overhead, so
 *   neither empty directories nor padding after the archive's end can be used as a bomb.
 */
export async function extractBundle(archivePath: string, destDir: string, limits: ExtractLimits): Promise<ExtractedBundle> {
  const dest = path.resolve(destDir);
  if (await exists(dest)) throw new Error(`extractBundle: destination ${dest} already exists`);
  const partial = `${dest}.partial-${randomBytes(8).toString('hex')}`;
  // Not recursive: the parent must exist and the random name must be ours alone.
  await mkdir(partial, { mode: 0o700 });
  try {
    const result = await extractInto(archivePath, partial, limits);
    await chmod(partial, 0o755);
    await rename(partial, dest);
    return result;
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function makeDirs(root: string, dirs: readonly string[]): Promise<void> {
  for (const d of dirs) {
    const abs = path.join(root, d);
    await mkdir(abs, { mode: 0o755 });
    await chmod(abs, 0o755); // whatever the umask says
  }
}

async function extractInto(archivePath: string, root: string, limits: ExtractLimits): Promise<ExtractedBundle> {
  const tree = new BundleTree();
  const files = new Map<string, FileInfo>();
  const links: PendingLink[] = [];
  const maxDirs = Math.max(limits.maxFiles, 1000);
  let fileCount = 0;
  let totalBytes = 0;

  const countFile = (raw: string) => {
    fileCount += 1;
    if (fileCount > limits.maxFiles) throw tooLarge(`bundle has more than the limit of ${limits.maxFiles} files (at entry ${JSON.stringify(raw)})`);
  };
  const bytesExceeded = () => tooLarge(`bundle is larger than the limit of ${limits.maxBytes} bytes uncompressed`);
  const claim = (p: string, kind: 'dir' | 'file' | 'link', raw: string) => {
    const dirs = tree.claim(p, kind, raw);
    if (tree.dirCount > maxDirs) throw tooLarge(`bundle has more than the limit of ${maxDirs} directories (at entry ${JSON.stringify(raw)})`);
    return dirs;
  };

  const onEntry = async (entry: ReadEntry, signal: AbortSignal) => {
    const raw = entry.path;
    // node-tar reads an entry by its header's type; should anything (a pax record) ever relabel
    // it afterwards, the two would disagree about what the body is.
    if (entry.type !== entry.header.type) throw refuse(raw, 'has conflicting entry types in its headers');
    switch (entry.type) {
      case 'Directory': {
        const p = bundlePath(raw, true);
        entry.resume();
        if (p !== '') await makeDirs(root, claim(p, 'dir', raw));
        return;
      }
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        const p = bundlePath(raw, false);
        const dirs = claim(p, 'file', raw);
        countFile(raw);
        if (totalBytes + entry.size > limits.maxBytes) throw bytesExceeded();
        await makeDirs(root, dirs);
        const mode = (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644;
        const written = await writeEntryFile(entry, path.join(root, p), mode, signal, (n) => {
          totalBytes += n;
          return totalBytes <= limits.maxBytes ? null : bytesExceeded();
        });
        files.set(p, { ...written, mode });
        return;
      }
      case 'SymbolicLink':
      case 'Link': {
        const p = bundlePath(raw, false);
        const target = linkTarget(p, entry.linkpath ?? '', entry.type === 'Link' ? 'hardlink' : 'symlink');
        const dirs = claim(p, 'link', raw);
        countFile(raw);
        entry.resume();
        await makeDirs(root, dirs);
        links.push({ path: p, target, raw });
        return;
      }
      case 'CharacterDevice':
      case 'BlockDevice':
        throw refuse(raw, 'is a device file');
      case 'FIFO':
        throw refuse(raw, 'is a FIFO');
      default:
        throw refuse(raw, `has an unsupported entry type (${entry.type})`);
    }
  };

  const maxTarBytes = limits.maxBytes + ENTRY_OVERHEAD * (limits.maxFiles + maxDirs + 16) + 1024 * 1024;
  await readTarEntries(archivePath, maxTarBytes, onEntry);

  // Links last: a symbolic link may name a file that comes later in the archive.
  const linkByPath = new Map(links.map((l) => [l.path, l]));
  for (const link of links) {
    const source = resolveLink(link, tree, linkByPath);
    const info = files.get(source);
    if (!info) throw refuse(link.raw, `is a link to "${source}", which is not a regular file in the bundle`);
    totalBytes += info.size;
    if (totalBytes > limits.maxBytes) throw bytesExceeded();
    const dst = path.join(root, link.path);
    await copyFile(path.join(root, source), dst, constants.COPYFILE_EXCL);
    await chmod(dst, info.mode);
    files.set(link.path, info);
  }

  if (!files.has('manifest.json')) {
    throw AppError.badRequest('bundle has no manifest.json at its root', ErrorCode.invalidParameter);
  }
  const manifest = parseManifest(await readFile(path.join(root, 'manifest.json'), 'utf8'));

  const checksumMismatches: ExtractedBundle['checksumMismatches'] = [];
  const missingFiles: string[] = [];
  for (const [listed, entry] of Object.entries(manifest.files)) {
    const info = files.get(listed.replace(/^(\.\/)+/, ''));
    if (!info) missingFiles.push(listed);
    else if (entry.checksum !== undefined && entry.checksum.toLowerCase() !== info.md5) {
      checksumMismatches.push({ path: listed, expected: entry.checksum, actual: info.md5 });
    }
  }

  return { manifest, files: [...files.keys()].sort(), checksumMismatches, missingFiles, totalBytes };
}

/** Follows link to link until a non-link; refuses directories, cycles and anything absent. */
function resolveLink(link: PendingLink, tree: BundleTree, linkByPath: ReadonlyMap<string, PendingLink>): string {
  let target = link.target;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const kind = tree.kinds.get(target);
    if (kind === 'file') return target;
    if (kind === 'dir') throw refuse(link.raw, `is a link to the directory "${target}"; only links to files are accepted`);
    const next = kind === 'link' ? linkByPath.get(target) : undefined;
    if (!next) throw refuse(link.raw, `is a link to "${target}", which is not in the bundle`);
    target = next.target;
  }
  throw refuse(link.raw, 'is part of a link cycle or a chain of more than 40 links');
}
