import type { Logger } from 'pino';
import type { Task } from '../domain/content.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { KeyedLock } from '../domain/keyed-lock.ts';
import type { RuntimeCache, RuntimeCaches } from '../domain/runtime-caches.ts';
import type { Actor, User } from '../domain/user.ts';
import type { AuditLog } from './audit-log.ts';
import type { TaskService } from './tasks/task-service.ts';

/** A removal asked for: which cache (any language names one, or none), and whether only to check that it exists. */
interface RemoveRequest {
  language: string;
  version: string;
  imageName: string;
  dryRun: boolean;
}

/**
 * Connect's runtime caches for administrators (the route checks the role): listed, and removed
 * as a task the caller polls at `/v1/tasks/{id}`, audited. Both refused with code 194 unless
 * the server allows it (`runtimeCaches.allowManagement`).
 */
export class RuntimeCacheService {
  // One removal per language at a time, in the order asked (the runtime serializes them too).
  private readonly removals = new KeyedLock<string>();

  constructor(
    private readonly caches: RuntimeCaches,
    private readonly tasks: TaskService,
    private readonly audit: AuditLog,
    private readonly allowed: boolean,
    private readonly logger: Logger,
  ) {}

  private checkAllowed(): void {
    if (!this.allowed) {
      throw new AppError(
        403,
        ErrorCode.cacheManagementDisabled,
        'Runtime cache management is disabled on this server (runtimeCaches.allowManagement, LECTERN_RUNTIME_CACHE_MANAGEMENT).',
      );
    }
  }

  async list(): Promise<RuntimeCache[]> {
    this.checkAllowed();
    return this.caches.list();
  }

  /** The cache as found, and the task removing it (null for a dry run, which changes nothing). */
  async remove(actor: Actor, user: User, req: RemoveRequest): Promise<{ cache: RuntimeCache; task: Task | null }> {
    this.checkAllowed();
    const cache = (await this.caches.list()).find((c) => c.language === req.language && c.version === req.version && c.imageName === req.imageName);
    if (!cache) throw AppError.notFound('Cache does not exist');
    if (req.dryRun) return { cache, task: null };
    const task = await this.tasks.create({ contentId: null, bundleId: null, userId: user.id, kind: 'runtime-cache', activate: false });
    await this.audit.record(
      actor,
      'runtime_cache.delete',
      { type: 'runtime_cache', id: `${cache.language}/${cache.version}/${cache.imageName}` },
      { language: cache.language, version: cache.version, image_name: cache.imageName, task: task.id },
    );
    void this.removals.run(cache.language, () => this.run(task, cache));
    return { cache, task };
  }

  /** Resolves when every removal started so far has ended (for shutdown). */
  idle(): Promise<void> {
    return this.removals.idle();
  }

  private async run(task: Task, cache: RuntimeCache): Promise<void> {
    const log = (line: string) => void this.tasks.log(task.id, line).catch((err: unknown) => this.logger.warn({ err, task: task.id }, 'task log write failed'));
    try {
      if (!(await this.caches.remove(cache, log))) throw new Error('Cache does not exist');
      await this.tasks.finish(task.id, 0);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`Error: ${message}`);
      this.logger.warn({ task: task.id, cache, err: message }, 'runtime cache removal failed');
      await this.tasks.finish(task.id, 1, message).catch((e: unknown) => this.logger.error({ err: e }, 'could not finish task'));
    }
  }
}
