import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import type { ContentRepo } from '../../repositories/content-repo.ts';
import type { GitLocationRepo } from '../../repositories/git-location-repo.ts';
import type { UserRepo } from '../../repositories/user-repo.ts';
import type { AuditLog } from '../audit-log.ts';
import type { BundleStore } from '../bundles/bundle-store.ts';
import type { DeployService } from '../deploy-service.ts';
import { SecretBox } from '../secret-box.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { GitBrowser } from './git-browser.ts';
import { GitClient } from './git-client.ts';
import { GitDeployer } from './git-deployer.ts';
import { GitLocationService } from './git-location-service.ts';
import { GitPoller } from './git-poller.ts';
import { GitWebhooks } from './git-webhooks.ts';

/** Git-backed content (connect-api-next.md §9.3): what the API, the webhook and the scheduler use. */
export interface GitServices {
  locations: GitLocationService;
  deployer: GitDeployer;
  webhooks: GitWebhooks;
  poller: GitPoller;
  /** connectapi's `/repo/branches` and `/repo/manifest-dirs`. */
  browser: GitBrowser;
}

export interface GitDeps {
  locations: GitLocationRepo;
  content: ContentRepo;
  users: UserRepo;
  store: BundleStore;
  deploys: DeployService;
  tasks: TaskService;
  audit: AuditLog;
  secretKey: Buffer;
  clock: () => Date;
  logger: Logger;
}

/**
 * Builds them under `<dataDir>/git/`: `home/` (git's empty HOME), `cache/<guid>/` (a bare
 * repository per item) and `browse/` (the throwaway fetches of `/repo/manifest-dirs`).
 */
export async function createGitServices(config: Config, d: GitDeps): Promise<GitServices> {
  const root = path.join(config.dataDir, 'git');
  const home = path.join(root, 'home');
  await mkdir(home, { recursive: true, mode: 0o700 });
  const git = new GitClient({ home, timeoutMs: config.git.timeoutSeconds * 1000, protocols: config.git.protocols, networkEnv: config.networkEnv });
  const locations = new GitLocationService(d.locations, new SecretBox(d.secretKey, 'content-repository'), d.audit, config.git.protocols);
  const logger = d.logger.child({ component: 'git' });
  const deployer = new GitDeployer(locations, git, d.store, d.deploys, d.users, path.join(root, 'cache'), config.git.protocols, d.clock, logger);
  return {
    locations,
    deployer,
    webhooks: new GitWebhooks(locations, d.content, deployer, logger),
    poller: new GitPoller(locations, d.content, git, deployer, config.git.pollIntervalSeconds, logger),
    browser: new GitBrowser(git, d.tasks, config.git.protocols, path.join(root, 'browse'), logger),
  };
}
