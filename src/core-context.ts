import type { Config } from './config/index.ts';
import { resolveSecretKey } from './config/index.ts';
import type { Tightened } from './config/file-modes.ts';
import { secureDataDir } from './config/secret-key.ts';
import { openDatabase, type Database } from './db/connect.ts';
import { trackWrites } from './db/write-generation.ts';
import { migrateForward } from './db/migrate.ts';
import type { Logger } from './logging/logger.ts';
import { ApiKeyRepo } from './repositories/api-key-repo.ts';
import { UsageRepo } from './repositories/usage-repo.ts';
import { AuditRepo } from './repositories/audit-repo.ts';
import { BundleRepo } from './repositories/bundle-repo.ts';
import { ContentRepo } from './repositories/content-repo.ts';
import { VariableRepo } from './repositories/variable-repo.ts';
import { GroupRepo } from './repositories/group-repo.ts';
import { PermissionRepo } from './repositories/permission-repo.ts';
import { SessionRepo } from './repositories/session-repo.ts';
import { TaskRepo } from './repositories/task-repo.ts';
import { UserRepo } from './repositories/user-repo.ts';
import { RenderingRepo } from './repositories/rendering-repo.ts';
import { ScheduleRepo } from './repositories/schedule-repo.ts';
import { SubscriberRepo } from './repositories/subscriber-repo.ts';
import { VariantRepo } from './repositories/variant-repo.ts';
import { VanityRepo } from './repositories/vanity-repo.ts';
import { EmailRepo } from './repositories/email-repo.ts';
import { MailSettingsRepo } from './repositories/mail-settings-repo.ts';
import { TagRepo } from './repositories/tag-repo.ts';
import { BundlePackageRepo } from './repositories/bundle-package-repo.ts';
import { ThumbnailRepo } from './repositories/thumbnail-repo.ts';
import { ApiKeyService } from './services/api-key-service.ts';
import { AuditLog } from './services/audit-log.ts';
import { UserService } from './services/user-service.ts';
import { MailOutbox } from './services/mail/mail-outbox.ts';
import { Mailer } from './services/mail/mailer.ts';
import { MailSettingsService } from './services/mail/mail-settings-service.ts';
import { SecretBox } from './services/secret-box.ts';

/**
 * The objects without the server's start-up: the database (migrated), the repositories, and
 * the user and key services. This is all the CLI opens. It must never recover, reset or stop
 * anything, since a server may be running on the same data directory: start-up recovery
 * (tasks interrupted by a restart, uploads left in tmp, content processes and their keys,
 * containers) belongs to the server alone (app-context.ts).
 */
export interface CoreContext {
  config: Config;
  logger: Logger;
  db: Database;
  secretKey: Buffer;
  repos: {
    users: UserRepo;
    keys: ApiKeyRepo;
    sessions: SessionRepo;
    audit: AuditRepo;
    usage: UsageRepo;
    content: ContentRepo;
    bundles: BundleRepo;
    tasks: TaskRepo;
    variables: VariableRepo;
    permissions: PermissionRepo;
    groups: GroupRepo;
    vanities: VanityRepo;
    variants: VariantRepo;
    renderings: RenderingRepo;
    schedules: ScheduleRepo;
    subscribers: SubscriberRepo;
    mailSettings: MailSettingsRepo;
    emails: EmailRepo;
    tags: TagRepo;
    thumbnails: ThumbnailRepo;
    packages: BundlePackageRepo;
  };
  audit: AuditLog;
  /** Outgoing email: the SMTP settings, the sender, and the outbox every server drains. */
  mail: { settings: MailSettingsService; mailer: Mailer; outbox: MailOutbox };
  users: UserService;
  keys: ApiKeyService;
  /** Counts this process's database writes: caches of derived answers are void once it moves. */
  writeGeneration: () => number;
  close: () => Promise<void>;
}

export async function openCore(config: Config, logger: Logger): Promise<CoreContext> {
  // The data directory, the secret key and the database are the server's alone, at every start.
  const tightened = (t: Tightened) => logger.warn(t, 'tightened the mode of a data file other accounts could use');
  for (const t of secureDataDir(config)) tightened(t);
  const secretKey = resolveSecretKey(config);
  const db = openDatabase(config, tightened);
  try {
    // A schema newer than this code (a downgrade) is refused before anything is written.
    const applied = await migrateForward(db.knex);
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
    usage: new UsageRepo(db.knex),
    content: new ContentRepo(db.knex),
    bundles: new BundleRepo(db.knex),
    tasks: new TaskRepo(db.knex),
    variables: new VariableRepo(db.knex),
    permissions: new PermissionRepo(db.knex),
    groups: new GroupRepo(db.knex),
    vanities: new VanityRepo(db.knex),
    variants: new VariantRepo(db.knex),
    renderings: new RenderingRepo(db.knex),
    schedules: new ScheduleRepo(db.knex),
    subscribers: new SubscriberRepo(db.knex),
    mailSettings: new MailSettingsRepo(db.knex),
    emails: new EmailRepo(db.knex),
    tags: new TagRepo(db.knex),
    thumbnails: new ThumbnailRepo(db.knex),
    packages: new BundlePackageRepo(db.knex),
  };
  const audit = new AuditLog(repos.audit);
  const users = new UserService(repos.users, repos.sessions, audit, config.auth.minPasswordLength);
  // Answers the proxy needs on every request are cached until this process writes anything.
  const generation = trackWrites(db.knex);
  const keys = new ApiKeyService(repos.keys, repos.users, audit, generation);
  const mailSettings = new MailSettingsService(repos.mailSettings, new SecretBox(secretKey, 'mail-settings'), audit);
  const mailer = new Mailer(mailSettings);
  const mail = { settings: mailSettings, mailer, outbox: new MailOutbox(repos.emails, mailSettings, mailer, audit, logger) };
  return { config, logger, db, secretKey, repos, audit, mail, users, keys, writeGeneration: generation, close: () => db.knex.destroy() };
}
