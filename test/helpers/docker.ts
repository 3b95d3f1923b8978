import { readFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';

export const docker = new Docker();

/** The labels the Docker backend put on what a test server (by its data directory) made. */
function serverFilter(dataDir: string): string[] {
  const id = readFileSync(path.join(dataDir, 'server-id'), 'utf8').trim();
  return ['org.lectern.managed=true', `org.lectern.server=${id}`];
}

/** A test server's containers (all states). */
export function containersOf(dataDir: string) {
  return docker.listContainers({ all: true, filters: { label: serverFilter(dataDir) } });
}

/** A test server's bundle images. */
export function imagesOf(dataDir: string) {
  return docker.listImages({ filters: { label: serverFilter(dataDir) } });
}

/**
 * After a test server's database is gone, what its containers and images were for is gone too:
 * remove them (a stopped Lectern leaves its apps running on purpose, for the next start).
 */
export async function removeEverythingOf(dataDir: string): Promise<void> {
  let filter: string[];
  try {
    filter = serverFilter(dataDir);
  } catch {
    return; // never used Docker
  }
  for (const c of await docker.listContainers({ all: true, filters: { label: filter } })) await docker.getContainer(c.Id).remove({ force: true, v: true });
  for (const i of await docker.listImages({ filters: { label: filter } })) await docker.getImage(i.Id).remove({ force: true }).catch(() => undefined);
}
