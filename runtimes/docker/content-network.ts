import type Docker from 'dockerode';
import { isConflict } from './docker-streams.ts';

/** The bridge content containers join. */
export const CONTENT_NETWORK = 'lectern-content';

/**
 * A bridge network on which containers cannot reach each other (inter-container traffic off):
 * one app cannot call another app's port past Lectern's access checks. The host still reaches
 * each published port, and containers still reach the outside (package mirrors, databases).
 */
export async function ensureContentNetwork(docker: Docker): Promise<string> {
  const existing = await docker.listNetworks({ filters: { name: [CONTENT_NETWORK] } });
  const found = existing.find((n) => n.Name === CONTENT_NETWORK);
  if (found) {
    if (found.Options?.['com.docker.network.bridge.enable_icc'] !== 'false') {
      throw new Error(
        `The Docker network ${CONTENT_NETWORK} exists but lets containers reach each other: remove it (docker network rm ${CONTENT_NETWORK}) and Lectern makes it anew.`,
      );
    }
    return CONTENT_NETWORK;
  }
  try {
    await docker.createNetwork({
      Name: CONTENT_NETWORK,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { 'org.lectern.managed': 'true' },
      Options: { 'com.docker.network.bridge.enable_icc': 'false' },
    });
  } catch (err) {
    // Another Lectern on this engine made it at the same moment.
    if (!isConflict(err)) throw err;
  }
  return CONTENT_NETWORK;
}
