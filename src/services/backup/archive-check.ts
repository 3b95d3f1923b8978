import type { BackupManifest } from './manifest.ts';

/** What reading the archive found at one path (manifest.json aside). */
export type SeenEntry = { type: 'directory' } | { type: 'file'; size: number; sha256: string };

/**
 * Every way the archive's entries differ from its manifest, in plain words: a file missing,
 * cut short or changed, an entry the manifest does not list, a path twice (`duplicates`).
 * Empty when they agree exactly.
 */
export function archiveProblems(manifest: BackupManifest, seen: ReadonlyMap<string, SeenEntry>, duplicates: readonly string[] = []): string[] {
  const problems = duplicates.map((p) => `${p} is in the archive more than once`);
  const listedDirs = new Set(manifest.directories.map((d) => d.path));
  const listedFiles = new Set(manifest.files.map((f) => f.path));
  for (const f of manifest.files) {
    const e = seen.get(f.path);
    if (!e) problems.push(`${f.path} is missing from the archive`);
    else if (e.type !== 'file') problems.push(`${f.path} is a directory in the archive, a file in the manifest`);
    else if (e.size !== f.size) problems.push(`${f.path} is ${e.size} bytes, not the ${f.size} the manifest says`);
    else if (e.sha256 !== f.sha256) problems.push(`${f.path} does not match its SHA-256 checksum`);
  }
  for (const d of manifest.directories) {
    const e = seen.get(d.path);
    if (!e) problems.push(`${d.path}/ is missing from the archive`);
    else if (e.type !== 'directory') problems.push(`${d.path} is a file in the archive, a directory in the manifest`);
  }
  const ancestors = ancestorsOf([...listedFiles, ...listedDirs]);
  for (const [p, e] of seen) {
    // A directory above listed paths is what tar adds when an archive is unpacked and packed again.
    if (e.type === 'directory' && ancestors.has(p)) continue;
    if (!listedFiles.has(p) && !listedDirs.has(p)) problems.push(`${p} is in the archive but not in its manifest`);
  }
  return problems;
}

/** The problems as one refusal's text: the first few, and how many more. */
export function describeProblems(problems: readonly string[], shown = 5): string {
  const more = problems.length - shown;
  return problems.slice(0, shown).join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** Every directory above the given paths (`data`, `data/bundles`, ... for `data/bundles/x`). */
export function ancestorsOf(paths: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) out.add(p.slice(0, i));
  }
  return out;
}
