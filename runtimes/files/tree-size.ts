import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files and bytes under `p` (a file or a directory), for what a removal frees. Symbolic links
 * are counted, never followed; what vanishes or cannot be read meanwhile counts as nothing.
 * (src/services/tree-size.ts is the control plane's copy: runtimes/ reaches no services.)
 */
export async function treeSize(p: string): Promise<{ files: number; bytes: number }> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return { files: 0, bytes: 0 };
  if (!st.isDirectory()) return { files: 1, bytes: st.size };
  const names = await readdir(p).catch(() => [] as string[]);
  let files = 0;
  let bytes = 0;
  for (const name of names) {
    const sub = await treeSize(path.join(p, name));
    files += sub.files;
    bytes += sub.bytes;
  }
  return { files, bytes };
}
