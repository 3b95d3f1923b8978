import { randomBytes } from 'node:crypto';
import os from 'node:os';

/**
 * This process as it signs the renders it claims: host, pid and a random part, so a restarted
 * server (same host, maybe the same pid in a container) never mistakes an earlier run's renders
 * for its own; those lapse and are retried.
 */
export function serverIdentity(): string {
  return `${os.hostname().slice(0, 40)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
