import type { Actor } from '../domain/user.ts';
import type { AuditLog } from './audit-log.ts';
import type { Logger } from 'pino';
import { refuseLocked, type Bundle, type Content, type Task } from '../domain/content.ts';
import { runSettingsOf, type BundleBuilder, type ContentEvents } from '../domain/deploy.ts';
import { AppError } from '../domain/errors.ts';
import { asId } from '../domain/ids.ts';
import type { EnvironmentInventory } from '../domain/packages.ts';
import { KeyedLock } from '../domain/keyed-lock.ts';
import type { User } from '../domain/user.ts';
import type { BundlePackageRepo } from '../repositories/bundle-package-repo.ts';
import type { BundleRepo } from '../repositories/bundle-repo.ts';
import type { ContentRepo } from '../repositories/content-repo.ts';
import type { BundleStore } from './bundles/bundle-store.ts';
import type { RenderService } from './reports/render-service.ts';
import type { TaskService } from './tasks/task-service.ts';

/** A deploy that ended, for whoever counts them (metrics). */
export interface DeployFinished {
  contentGuid: string;
  appMode: string;
  draft: boolean;
  ok: boolean;
  /** From the start of its build (after any wait behind another deploy of the item). */
  seconds: number;
}

/**
 * Deploys: builds a bundle through the runtimes layer and, unless it is a draft, makes it
 * what viewers get. Activating an older bundle is a rollback. Deploys of one content item
 * run one at a time, in the order asked; different items build side by side.
 */
export class DeployService {
  private readonly queues = new KeyedLock<number>();
  private readonly listeners: ((d: DeployFinished) => void)[] = [];

  constructor(
    private readonly content: ContentRepo,
    private readonly bundles: BundleRepo,
    private readonly store: BundleStore,
    private readonly tasks: TaskService,
    private readonly builder: BundleBuilder,
    private readonly events: ContentEvents,
    private readonly logger: Logger,
    private readonly renders: RenderService,
    private readonly audit: AuditLog,
    private readonly packages: BundlePackageRepo,
  ) {}

  /** `bundleId` null: the active bundle again (a restart or rebuild). */
  async deploy(actor: Actor, user: User, c: Content, bundleId: number | null, activate: boolean): Promise<Task> {
    refuseLocked(c);
    const id = bundleId ?? c.bundleId;
    if (id === null) throw AppError.badRequest('This content has no bundle yet: upload one, then deploy it.', 12);
    const bundle = asId(id) ? await this.bundles.byId(c.id, id) : undefined;
    if (!bundle) throw AppError.notFound(`Bundle ${id} does not belong to this content.`);
    const task = await this.tasks.create({ contentId: c.id, bundleId: bundle.id, userId: user.id, kind: 'deploy', activate });
    await this.audit.record(actor, 'content.deploy', { type: 'content', id: c.guid }, { bundle_id: bundle.id, task: task.id, activate });
    // run() records its own failure in the task; it never rejects.
    void this.queues.run(c.id, () => this.run(task, c.guid, bundle, activate));
    return task;
  }

  /** `listener` hears of every deploy's end, success or failure; it must not throw or wait. */
  onFinished(listener: (d: DeployFinished) => void): void {
    this.listeners.push(listener);
  }

  private tell(d: DeployFinished): void {
    for (const l of this.listeners) {
      try {
        l(d);
      } catch (err) {
        this.logger.error({ err }, 'a deploy listener failed');
      }
    }
  }

  /** Resolves when every deploy started so far has ended (for shutdown). */
  idle(): Promise<void> {
    return this.queues.idle();
  }

  private async run(task: Task, guid: string, bundle: Bundle, activate: boolean): Promise<void> {
    const log = (line: string) => void this.tasks.log(task.id, line).catch((err: unknown) => this.logger.warn({ err, task: task.id }, 'task log write failed'));
    const started = Date.now();
    const finished = (ok: boolean) => this.tell({ contentGuid: guid, appMode: bundle.appMode, draft: !activate, ok, seconds: (Date.now() - started) / 1000 });
    try {
      // Re-read: the item may have changed while this deploy waited its turn.
      const c = await this.content.byGuid(guid);
      if (!c) throw new Error('The content was deleted before it could be deployed.');
      if (c.locked) throw new Error('The content was locked before it could be deployed.');
      log(`Deploying bundle ${bundle.id} of "${c.name}" (${bundle.appMode}).`);
      if (!activate) log(`Building a draft: viewers keep ${c.bundleId === null ? 'seeing nothing yet' : `bundle ${c.bundleId}`}.`);
      const manifest = await this.store.manifest(bundle);
      const renderStart = new Date();
      const inventories: EnvironmentInventory[] = [];
      const rendered = await this.builder.build({
        contentGuid: c.guid,
        bundleId: bundle.id,
        appMode: bundle.appMode,
        primaryFile: bundle.primaryFile,
        draft: !activate,
        settings: runSettingsOf(c),
        bundleDir: this.store.bundleDir(c.guid, bundle.id),
        manifest,
        // A rendered report sees RSC_REPORT_* as it does on a schedule (blastula needs them).
        reportEnv: this.renders.envFor(c, null, null),
        log,
        environmentFound: (inv) => void inventories.push(inv),
      });
      await this.bundles.markBuilt(bundle.id);
      if (!(await this.bundles.byId(c.id, bundle.id))) throw new Error(`Bundle ${bundle.id} was deleted during the deploy.`);
      // What it runs with, as this build found it (GET /v1/packages); a failed build records nothing.
      await this.packages.replace(bundle.id, inventories);
      if (activate) {
        const rollback = c.bundleId !== null && bundle.id < c.bundleId;
        // The deploy's render is the default variant's first rendering (render history).
        if (rendered) await this.renders.recordDeploy(c, bundle, rendered, renderStart, null);
        await this.content.update(c.id, {
          bundleId: bundle.id,
          appMode: bundle.appMode,
          contentCategory: manifest.metadata.content_category ?? '',
          parameterized: manifest.metadata.has_parameters ?? false,
          lastDeployedTime: new Date(),
        });
        this.events.bundleActivated(c.guid, bundle.id);
        log(rollback ? `Rolled back to bundle ${bundle.id}.` : `Bundle ${bundle.id} is now active.`);
      } else {
        log(`Draft ready: /content/${c.guid}/_bundle${bundle.id}/`);
      }
      log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
      await this.tasks.finish(task.id, 0);
      finished(true);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`Error: ${message}`);
      this.logger.info({ task: task.id, content: guid, bundle: bundle.id, err: message }, 'deploy failed');
      await this.tasks.finish(task.id, 1, message).catch((e: unknown) => this.logger.error({ err: e }, 'could not finish task'));
      finished(false);
    }
  }
}
