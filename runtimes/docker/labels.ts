import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The labels on everything the Docker backend makes. `server` names the Lectern installation
 * (its data directory): several servers may share one engine, and each only ever adopts, stops
 * or prunes what carries its own name.
 */
export const LABEL = {
  managed: 'org.lectern.managed',
  server: 'org.lectern.server',
  content: 'org.lectern.content',
  bundle: 'org.lectern.bundle',
  job: 'org.lectern.job',
  /** `app` (a served instance) or `render`. */
  kind: 'org.lectern.kind',
  /** The port the app listens on inside its container. */
  port: 'org.lectern.port',
  startedAt: 'org.lectern.started-at',
} as const;

/** The installation's name, kept in the data directory so that a restarted server knows its containers. */
export async function serverIdentity(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'server-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomBytes(8).toString('hex');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, id + '\n', { mode: 0o644 });
  return id;
}

/** The labels that say "this server's": the filter for every list. */
export function ownedBy(server: string): string[] {
  return [`${LABEL.managed}=true`, `${LABEL.server}=${server}`];
}

/** True when a container's or image's labels say it is this server's. */
export function isOwned(labels: Record<string, string> | undefined, server: string): boolean {
  return labels?.[LABEL.managed] === 'true' && labels[LABEL.server] === server;
}
