import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { refuseLocked, type Bundle, type Content, type Task } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { checkRef, checkRepositoryUrl, normalizeDirectory, type GitCredentials } from '../../domain/git-location.ts';
import { KeyedLock } from '../../domain/keyed-lock.ts';
import type { Actor, User } from '../../domain/user.ts';
import type { UserRepo } from '../../repositories/user-repo.ts';
import type { BundleStore } from '../bundles/bundle-store.ts';
import type { DeployService } from '../deploy-service.ts';
import { GitError, type GitClient } from './git-client.ts';
import type { GitLocationService } from './git-location-service.ts';

/** What one bundle is made from: the item's location unless the caller names another. */
export interface GitBundleRequest {
  repository?: string | undefined;
  ref?: string | undefined;
  directory?: string | undefined;
  /** false: a draft, served at `/content/{guid}/_bundle{id}/` to who manages the item. */
  activate: boolean;
}

export interface GitBundleResult {
  bundle: Bundle;
  task: Task;
  location: { repository: string; ref: string; directory: string; commit: string };
}

/**
 * Makes bundles from git and deploys them: fetch one commit of a ref into the item's cache
 * (`<dataDir>/git/cache/<guid>`), check that the directory holds a `manifest.json`, archive the
 * directory straight from git's objects into `<dataDir>/tmp`, and hand that archive to
 * `BundleStore.ingest`, the path every upload takes (its extractor refuses links that leave
 * the bundle, its limits apply). The deploy is DeployService's, so its log is an ordinary task.
 * One fetch at a time per item; the deploys themselves queue in DeployService as any other.
 */
export class GitDeployer {
  private readonly fetching = new KeyedLock<number>();

  constructor(
    private readonly locations: GitLocationService,
    private readonly git: GitClient,
    private readonly store: BundleStore,
    private readonly deploys: DeployService,
    private readonly users: UserRepo,
    private readonly cacheRoot: string,
    /** The transports a repository a caller names may use (`git.protocols`). */
    private readonly protocols: readonly string[],
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {}

  /** Drops a deleted item's cache (a fetch for it still under way fails with the item anyway). */
  async forget(guid: string): Promise<void> {
    await rm(path.join(this.cacheRoot, path.basename(guid)), { recursive: true, force: true });
  }

  /** Who a deploy nobody asked for in person (a webhook, the poller) runs as: the item's owner. */
  async ownerOf(c: Content): Promise<User> {
    const owner = await this.users.byId(c.ownerId);
    if (!owner || owner.locked) throw AppError.badRequest('The owner of this content is locked or gone: nothing deploys on their behalf.');
    return owner;
  }

  /**
   * One bundle from git, deployed. Errors are AppErrors a client can act on (400 for a
   * repository, ref or directory that does not give a bundle); when the item's own location
   * was used, the outcome is recorded as its `last_error`, `last_known_commit` and `last_fetched_time`.
   */
  async deploy(actor: Actor, user: User, c: Content, req: GitBundleRequest): Promise<GitBundleResult> {
    refuseLocked(c);
    const saved = await this.locations.forGit(c);
    if (!saved && req.repository === undefined) throw AppError.notFound('This content is not git-backed: PUT its repository, or name one in "repository".');
    const repository = req.repository !== undefined ? checkRepositoryUrl(req.repository, this.protocols) : saved!.location.repository;
    const ref = req.ref !== undefined ? checkRef(req.ref) : (saved?.location.branch ?? 'main');
    const directory = req.directory !== undefined ? normalizeDirectory(req.directory) : (saved?.location.directory ?? '.');
    // The stored credentials go to the stored repository only, never to one a caller names.
    const sameRepository = saved !== undefined && saved.location.repository === repository;
    const credentials = sameRepository ? saved.credentials : undefined;
    // Only a bundle of the item's own branch moves what the poller compares against.
    const ownBranch = sameRepository && ref === saved.location.branch && directory === saved.location.directory;
    const tracked = sameRepository && directory === saved.location.directory;
    let made: { bundle: Bundle; commit: string };
    try {
      made = await this.fetching.run(c.id, () => this.makeBundle(user, c, repository, ref, directory, credentials));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (tracked) await this.locations.recordFetch(c, { lastError: ownBranch ? message : `${ref}: ${message}`, lastFetchedTime: this.clock() });
      if (err instanceof GitError) throw AppError.badRequest(`Could not make a bundle from ${repository} at ${ref}: ${message}`);
      throw err;
    }
    if (tracked) {
      await this.locations.recordFetch(c, { lastError: null, lastFetchedTime: this.clock(), ...(ownBranch ? { lastKnownCommit: made.commit } : {}) });
    }
    const task = await this.deploys.deploy(actor, user, c, made.bundle.id, req.activate);
    return { bundle: made.bundle, task, location: { repository, ref, directory, commit: made.commit } };
  }

  private async makeBundle(user: User, c: Content, repository: string, ref: string, directory: string, credentials: GitCredentials | undefined) {
    const cache = path.join(this.cacheRoot, c.guid);
    const commit = await this.git.fetch(cache, repository, ref, credentials);
    const kind = await this.git.typeAt(cache, commit, directory);
    if (kind !== 'tree') throw AppError.badRequest(`The directory "${directory}" does not exist at ${ref} (${commit.slice(0, 12)}).`);
    const manifest = await this.git.typeAt(cache, commit, directory === '.' ? 'manifest.json' : `${directory}/manifest.json`);
    if (manifest !== 'blob') {
      throw AppError.badRequest(
        `There is no manifest.json in "${directory}" at ${ref} (${commit.slice(0, 12)}): write one (rsconnect write-manifest) and commit it.`,
      );
    }
    const archive = path.join(this.store.tmpDir, `git-${randomBytes(8).toString('hex')}.tar.gz`);
    try {
      await this.git.archive(cache, commit, directory, archive, this.store.maxBytes);
      const { size } = await stat(archive);
      const bundle = await this.store.ingest(c, archive, size, user.id, {
        source: 'git',
        source_repo: repository,
        source_branch: ref,
        source_commit: commit,
        source_directory: directory,
      });
      this.logger.info({ content: c.guid, bundle: bundle.id, ref, commit }, 'bundle made from git');
      return { bundle, commit };
    } finally {
      await rm(archive, { force: true });
    }
  }
}
