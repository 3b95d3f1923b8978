import type { Config } from './config/index.ts';
import { resolveSecretKey } from './config/index.ts';
import { openDatabase, pingDatabase, type Database } from './db/connect.ts';
import { migrateLatest } from './db/migrate.ts';
import type { Logger } from './logging/logger.ts';
import { ApiKeyRepo } from './repositories/api-key-repo.ts';
import { AuditRepo } from './repositories/audit-repo.ts';
import { SessionRepo } from './repositories/session-repo.ts';
import { UserRepo } from './repositories/user-repo.ts';
import { ApiKeyService } from './services/api-key-service.ts';
import { AuditLog } from './services/audit-log.ts';
import { LoginThrottle } from './services/login-throttle.ts';
import { UserService } from './services/user-service.ts';

/** Everything but HTTP: shared by the server and the CLI. */
export interface AppContext {
  config: Config;
  logger: Logger;
  db: Database;
  secretKey: Buffer;
  repos: { users: UserRepo; keys: ApiKeyRepo; sessions: SessionRepo; audit: AuditRepo };
  audit: AuditLog;
  users: UserService;
  keys: ApiKeyService;
  throttle: LoginThrottle;
  checkDatabase: () => Promise<boolean>;
  close: () => Promise<void>;
}

/** Opens the database, brings its schema up to date and wires the services. */
export async function createAppContext(config: Config, logger: Logger): Promise<AppContext> {
  const secretKey = resolveSecretKey(config);
  const db = openDatabase(config);
  try {
    const applied = await migrateLatest(db.knex);
    logger.info({ database: db.description, applied }, applied.length ? 'database migrated' : 'database schema is current');
  } catch (err) {
    await db.knex.destroy();
    throw err;
  }
  const repos = {
    users: new UserRepo(db.knex),
    keys: new ApiKeyRepo(db.knex),
    sessions: new SessionRepo(db.knex),
    audit: new AuditRepo(db.knex),
  };
  const audit = new AuditLog(repos.audit);
  const users = new UserService(repos.users, repos.sessions, audit, config.auth.minPasswordLength);
  const keys = new ApiKeyService(repos.keys, repos.users, audit);
  const throttle = new LoginThrottle(config.auth.maxFailedLogins, config.auth.failedLoginWindowMinutes);
  return {
    config,
    logger,
    db,
    secretKey,
    repos,
    audit,
    users,
    keys,
    throttle,
    checkDatabase: () => pingDatabase(db),
    close: () => db.knex.destroy(),
  };
}
