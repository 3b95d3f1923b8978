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
  const services = await docker.listServices({ filters: { label: filter } }).catch(() => []);
  for (const s of services)
    await docker
      .getService(s.ID)
      .remove()
      .catch(() => undefined);
  for (const c of await docker.listContainers({ all: true, filters: { label: filter } }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  for (const i of await docker.listImages({ filters: { label: filter } }))
    await docker
      .getImage(i.Id)
      .remove({ force: true })
      .catch(() => undefined);
}

/** A test server's Swarm services. */
export function servicesOf(dataDir: string) {
  return docker.listServices({ filters: { label: serverFilter(dataDir) } });
}

/**
 * Makes the test engine a single-node swarm on a port of its own, and returns how to leave
 * it: the swarm, and the docker_gwbridge network Swarm leaves behind. A swarm left by an
 * earlier, interrupted run is left first if it runs nothing; otherwise this fails.
 */
export async function singleNodeSwarm(port: number): Promise<() => Promise<void>> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
  if (info.Swarm?.LocalNodeState === 'active') {
    const services = await docker.listServices();
    const foreign = services.filter((s) => s.Spec?.Labels?.['org.lectern.managed'] !== 'true');
    if (foreign.length) throw new Error(`the test engine is already in a swarm that runs ${foreign.map((s) => s.Spec?.Name).join(', ')}`);
    await docker.swarmLeave({ force: true });
  }
  await docker.swarmInit({ ListenAddr: `127.0.0.1:${port}`, AdvertiseAddr: `127.0.0.1:${port}` });
  return async () => {
    await docker.swarmLeave({ force: true });
    await docker
      .getNetwork('docker_gwbridge')
      .remove()
      .catch(() => undefined);
  };
}
