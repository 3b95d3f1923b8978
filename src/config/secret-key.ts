import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tightenMode, type Tightened } from './file-modes.ts';
import type { Config } from './schema.ts';

const SECRET_KEY_FILE = 'secret.key';

/**
 * Keeps the data directory the server's alone, at every start: the directory 0700 and the
 * secret key file 0600, created so or tightened if an earlier version, a restore or an
 * administrator left them open to others. Returns what it tightened, for the log.
 */
export function secureDataDir(config: Config): Tightened[] {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  return [tightenMode(config.dataDir, 0o700), tightenMode(path.join(config.dataDir, SECRET_KEY_FILE), 0o600)].filter((t): t is Tightened => !!t);
}

/**
 * The server's encryption key: the configured one, or the one kept in the data directory,
 * created on first start. Losing it makes encrypted content variables unreadable, so it is
 * created once and never rewritten.
 */
export function resolveSecretKey(config: Config): Buffer {
  if (config.secretKey) return Buffer.from(config.secretKey, 'base64');
  const file = path.join(config.dataDir, SECRET_KEY_FILE);
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    // 'wx': if another process created it meanwhile, keep theirs.
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  }
}
