import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** What of the data directory a backup carries: a file, or a tree of directories and regular files. */
const INCLUDED: Record<string, 'file' | 'tree'> = {
  'secret.key': 'file',
  // Which uid each content item runs as (as root with bubblewrap): never reused, so kept.
  'content-uids.json': 'file',
  bundles: 'tree',
  renders: 'tree',
};

/** The data directory's other entries, left out on purpose, and why (the manifest says so). */
const LEFT_OUT: Record<string, string> = {
  tmp: 'uploads being received: the client sends them again',
  envs: "restored package environments (runtime caches): rebuilt from each bundle's manifest when it next starts",
  jobs: 'process and render logs: their records name processes of this host, which a restored server on the same host would stop as its own',
  git: 'clones of git-backed content: fetched again at the next deploy or poll',
  run: "the running server's sockets",
  'server-id':
    "this server's identity for Docker and Swarm: a restored server makes its own, so it never adopts or removes the containers of the server it was copied from",
};

export interface DataEntry {
  /** Relative to the data directory, `/`-separated. */
  rel: string;
  abs: string;
  type: 'file' | 'directory';
  /** Permission bits. */
  mode: number;
}

export interface LeftOut {
  path: string;
  reason: string;
}

/** True for a relative data path a backup may carry, so a restore writes nothing else. */
export function isBackedUpDataPath(rel: string): boolean {
  const [top, ...rest] = rel.split('/');
  const kind = top === undefined ? undefined : INCLUDED[top];
  return kind === 'tree' || (kind === 'file' && rest.length === 0);
}

/** Work in progress inside a tree, which a later step will rename into place or remove. */
function inProgress(rel: string, name: string): string | null {
  if (rel.startsWith('bundles/') && name.startsWith('staging-')) return 'a bundle being received';
  if (rel.startsWith('renders/') && name.endsWith('.partial')) return 'a render under way';
  return null;
}

/**
 * Lists what a backup carries of `dataDir`, directories before what they hold, in name order,
 * and what it leaves out at the top level and inside the trees. `otherwise` names top-level
 * entries (by absolute path) to leave out with a reason of the caller's: the SQLite file and
 * its -wal and -shm, which the database step copies itself, and a secret.key the server does
 * not use. Entries that vanish while being listed are passed over: they were being removed.
 */
export async function listDataFiles(dataDir: string, otherwise: ReadonlyMap<string, string>): Promise<{ entries: DataEntry[]; leftOut: LeftOut[] }> {
  const entries: DataEntry[] = [];
  const leftOut: LeftOut[] = [];
  const names = (await readdir(dataDir)).sort();
  for (const name of names) {
    const abs = path.join(dataDir, name);
    const kind = otherwise.has(abs) ? undefined : INCLUDED[name];
    if (!kind) {
      leftOut.push({ path: name, reason: otherwise.get(abs) ?? LEFT_OUT[name] ?? 'not a file Lectern keeps' });
      continue;
    }
    const st = await lstatOrNull(abs);
    if (!st) continue;
    if (kind === 'file' && st.isFile()) entries.push({ rel: name, abs, type: 'file', mode: st.mode & 0o777 });
    else if (kind === 'tree' && st.isDirectory()) await walk(name, abs, st.mode & 0o777, entries, leftOut);
    else leftOut.push({ path: name, reason: `not a ${kind === 'file' ? 'regular file' : 'directory'}` });
  }
  return { entries, leftOut };
}

async function walk(rel: string, abs: string, mode: number, entries: DataEntry[], leftOut: LeftOut[]): Promise<void> {
  entries.push({ rel, abs, type: 'directory', mode });
  let names: string[];
  try {
    names = (await readdir(abs)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    const childRel = `${rel}/${name}`;
    const childAbs = path.join(abs, name);
    const busy = inProgress(childRel, name);
    if (busy) {
      leftOut.push({ path: childRel, reason: busy });
      continue;
    }
    const st = await lstatOrNull(childAbs);
    if (!st) continue;
    if (st.isDirectory()) await walk(childRel, childAbs, st.mode & 0o777, entries, leftOut);
    else if (st.isFile()) entries.push({ rel: childRel, abs: childAbs, type: 'file', mode: st.mode & 0o777 });
    else leftOut.push({ path: childRel, reason: 'not a regular file or directory' });
  }
}

async function lstatOrNull(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
