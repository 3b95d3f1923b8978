import type { Logger } from 'pino';
import type { Actor } from '../../domain/user.ts';
import type { ContentRepo } from '../../repositories/content-repo.ts';
import type { GitClient } from './git-client.ts';
import type { GitDeployer } from './git-deployer.ts';
import type { GitLocationService } from './git-location-service.ts';

const SYSTEM: Actor = { userId: null, via: 'system' };
// Items looked at per run; the rest are due at the next tick.
const BATCH = 20;

/**
 * Connect's polling: for each item with `polling` on whose last look is `intervalSeconds` old,
 * `git ls-remote` its branch, and deploy when the head is not `last_known_commit`. Run by the
 * scheduler as timed work (never twice at once); each item is claimed in the database first,
 * so servers sharing one look at it once between them.
 */
export class GitPoller {
  constructor(
    private readonly locations: GitLocationService,
    private readonly content: ContentRepo,
    private readonly git: GitClient,
    private readonly deployer: GitDeployer,
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
  ) {}

  /** Looks at the due items; resolves with how many were deployed. */
  async run(now: Date): Promise<number> {
    let deployed = 0;
    for (const due of await this.locations.claimDuePolls(now, this.intervalSeconds, BATCH)) {
      const c = await this.content.byId(due.contentId);
      if (!c || c.locked) continue;
      try {
        const g = await this.locations.forGit(c);
        if (!g) continue;
        const head = await this.git.headOf(g.location.repository, g.location.branch, g.credentials);
        if (head === null) {
          await this.locations.recordFetch(c, { lastError: `The repository has no branch "${g.location.branch}".`, lastFetchedTime: now });
          continue;
        }
        if (head === g.location.lastKnownCommit) {
          await this.locations.recordFetch(c, { lastError: null, lastFetchedTime: now });
          continue;
        }
        const r = await this.deployer.deploy(SYSTEM, await this.deployer.ownerOf(c), c, { activate: true });
        this.logger.info({ content: c.guid, commit: r.location.commit, task: r.task.id }, 'polling found a new commit: deploying');
        deployed++;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // The deployer records its own failures; a failed look at the branch is recorded here.
        await this.locations.recordFetch(c, { lastError: message, lastFetchedTime: now }).catch(() => undefined);
        this.logger.info({ content: c.guid, err: message }, 'polling the repository failed');
      }
    }
    return deployed;
  }
}
