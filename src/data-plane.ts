import type { Config } from './config/index.ts';
import { resolveSecretKey } from './config/index.ts';
import { openDatabase } from './db/connect.ts';
import { trackWrites } from './db/write-generation.ts';
import type { BundleValidator } from './domain/deploy.ts';
import { SessionReader } from './http/session-reader.ts';
import { ApiKeyRepo } from './repositories/api-key-repo.ts';
import { AuditRepo } from './repositories/audit-repo.ts';
import { BundleRepo } from './repositories/bundle-repo.ts';
import { ContentRepo } from './repositories/content-repo.ts';
import { GroupRepo } from './repositories/group-repo.ts';
import { PermissionRepo } from './repositories/permission-repo.ts';
import { RenderingRepo } from './repositories/rendering-repo.ts';
import { SessionRepo } from './repositories/session-repo.ts';
import { UserRepo } from './repositories/user-repo.ts';
import { VanityRepo } from './repositories/vanity-repo.ts';
import { VariantRepo } from './repositories/variant-repo.ts';
import { AccessPolicy } from './services/access-policy.ts';
import { ApiKeyService } from './services/api-key-service.ts';
import { AuditLog } from './services/audit-log.ts';
import { BundleStore } from './services/bundles/bundle-store.ts';
import { ContentFiles } from './services/content-files.ts';
import { GroupService } from './services/group-service.ts';
import { VanityService } from './services/vanity-service.ts';
import type { User } from './domain/user.ts';

/**
 * What a proxy worker (src/proxy-worker.ts) reads on a request's way: keys, sessions, content
 * and who may see it, vanity paths, group names. Opened on the server's database and data
 * directory without the server's start-up (no migration, no recovery: the server did those),
 * with caches that are void once this process or the server (`remoteWrites`) writes.
 */
export interface DataPlane {
  keys: ApiKeyService;
  sessions: SessionReader;
  files: ContentFiles;
  vanities: VanityService;
  groupNames(user: User): Promise<string[]>;
  secretKey: Buffer;
  close(): Promise<void>;
}

export function openDataPlane(config: Config, validator: BundleValidator, remoteWrites: () => number): DataPlane {
  const db = openDatabase(config);
  const local = trackWrites(db.knex);
  const generation = () => local() + remoteWrites();
  const secretKey = resolveSecretKey(config);
  const users = new UserRepo(db.knex);
  const audit = new AuditLog(new AuditRepo(db.knex));
  const access = new AccessPolicy(new PermissionRepo(db.knex));
  const content = new ContentRepo(db.knex);
  const bundles = new BundleRepo(db.knex);
  const groups = new GroupService(new GroupRepo(db.knex), users, audit).cacheWith(generation);
  return {
    keys: new ApiKeyService(new ApiKeyRepo(db.knex), users, audit, generation),
    // The cookie express-session signs with the server's secret key (src/web/browser-session.ts).
    sessions: new SessionReader(secretKey.toString('base64'), new SessionRepo(db.knex), (id) => users.byId(id), generation),
    files: new ContentFiles(
      content,
      bundles,
      new BundleStore(config.dataDir, config.bundles, validator, bundles),
      access,
      { variants: new VariantRepo(db.knex), renderings: new RenderingRepo(db.knex) },
      generation,
    ),
    vanities: new VanityService(new VanityRepo(db.knex), content, access, audit),
    groupNames: (user) => groups.namesOf(user),
    secretKey,
    close: () => db.knex.destroy(),
  };
}
