import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/index.ts';
import { BackupError } from './backup-error.ts';

export const SECRET_KEY_FILE = 'secret.key';

/**
 * Names a secret key without giving it away: an HMAC of a fixed text under the key. Two
 * fingerprints are equal exactly when the keys are, which is all a restore needs to know.
 */
export function keyFingerprint(key: Buffer): string {
  return `hmac-sha256:${createHmac('sha256', key).update('lectern backup: secret key fingerprint').digest('hex')}`;
}

/** The key in a secret.key file, read as the server reads it; null when there is none. */
export function readKeyFile(file: string): Buffer | null {
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export interface KeyInUse {
  source: 'file' | 'configuration';
  key: Buffer;
  /** The data directory's secret.key, when that is where the key comes from. */
  file: string | null;
}

/**
 * The key the server uses, found as `resolveSecretKey` finds it but never created: a backup of
 * a data directory without its key would restore to a server that cannot read its own
 * encrypted settings, so it is refused instead.
 */
export function keyInUse(config: Config): KeyInUse {
  if (config.secretKey) return { source: 'configuration', key: Buffer.from(config.secretKey, 'base64'), file: null };
  const file = path.join(config.dataDir, SECRET_KEY_FILE);
  const key = readKeyFile(file);
  if (!key) throw new BackupError(`There is no secret key at ${file}: is ${config.dataDir} this server's data directory (dataDir, LECTERN_DATA_DIR)?`);
  return { source: 'file', key, file };
}
