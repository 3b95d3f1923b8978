import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Task } from '../../domain/content.ts';
import { checkBranch, checkRepositoryUrl } from '../../domain/git-location.ts';
import type { User } from '../../domain/user.ts';
import type { TaskService } from '../tasks/task-service.ts';
import type { GitClient } from './git-client.ts';

// A repository with more files than this is listed in part (its manifest directories too).
const MAX_FILES = 100_000;

/**
 * connectapi's experimental helpers (connect-api-next.md §9.3, `R/git.R`): a repository's
 * branches and the directories holding a `manifest.json`, each answered as a task whose
 * `result` carries them. Repositories are looked at anonymously: Lectern keeps credentials per
 * item, not per server, so `GET /repo/account` names nobody.
 */
export class GitBrowser {
  constructor(
    private readonly git: GitClient,
    private readonly tasks: TaskService,
    private readonly protocols: readonly string[],
    private readonly scratchRoot: string,
    private readonly logger: Logger,
  ) {}

  async branches(user: User, url: string): Promise<Task> {
    const repository = checkRepositoryUrl(url, this.protocols);
    return this.inTask(user, `Listing the branches of ${repository}.`, async () => ({
      type: 'git-repo-ref-branch-array',
      data: (await this.git.branches(repository)).map((b) => ({ branch: b.branch, ref: b.commit })),
    }));
  }

  async manifestDirs(user: User, url: string, branch: string): Promise<Task> {
    const repository = checkRepositoryUrl(url, this.protocols);
    const ref = checkBranch(branch);
    return this.inTask(user, `Looking for manifest.json in ${repository} at ${ref}.`, async () => {
      const scratch = path.join(this.scratchRoot, randomBytes(8).toString('hex'));
      try {
        const commit = await this.git.fetch(scratch, repository, ref);
        const dirs = (await this.git.files(scratch, commit, MAX_FILES))
          .filter((f) => f === 'manifest.json' || f.endsWith('/manifest.json'))
          .map((f) => (f === 'manifest.json' ? '.' : f.slice(0, -'/manifest.json'.length)))
          .sort();
        return { type: 'git-repo-branch-manifest-dirs-array', data: dirs };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });
  }

  private async inTask(user: User, line: string, work: () => Promise<unknown>): Promise<Task> {
    const task = await this.tasks.create({ contentId: null, bundleId: null, userId: user.id, kind: 'git', activate: false });
    void (async () => {
      try {
        await this.tasks.log(task.id, line);
        await this.tasks.finish(task.id, 0, '', await work());
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await this.tasks.log(task.id, `Error: ${message}`).catch(() => undefined);
        await this.tasks.finish(task.id, 1, message).catch((e: unknown) => this.logger.error({ err: e }, 'could not finish a git task'));
      }
    })();
    return task;
  }
}
