import type { Bundle, Content, Task } from '../../domain/content.ts';
import { ADVERTISED_CONNECT_VERSION } from '../../domain/connect-version.ts';
import { runSettingsOf } from '../../domain/deploy.ts';
import { AppError, ErrorCode } from '../../domain/errors.ts';
import type { ReportRendered, ReportRenderer, Rendering, Variant } from '../../domain/reports.ts';
import type { Actor, User } from '../../domain/user.ts';
import type { Logger } from '../../logging/logger.ts';
import type { BundleRepo } from '../../repositories/bundle-repo.ts';
import type { ContentRepo } from '../../repositories/content-repo.ts';
import type { RenderingRepo } from '../../repositories/rendering-repo.ts';
import type { VariantRepo } from '../../repositories/variant-repo.ts';
import type { BundleStore } from '../bundles/bundle-store.ts';
import type { AuditLog } from '../audit-log.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { reportEnv } from './report-env.ts';
import { RenderSlots } from './render-slots.ts';
import { LogTail } from './log-tail.ts';
import type { VariantOf, VariantService } from './variant-service.ts';

export interface RenderServiceOptions {
  /** This process, as it signs the renders it runs (unique per start). */
  serverId: string;
  /** Finished renders kept per variant (the active one is always kept). */
  keepRenderings: number;
  /** How long a render stays this server's without a renewal; a lapsed one is declared dead. */
  leaseSeconds: number;
  maxConcurrent: number;
  /** The public base URL, for the links a report puts in its email. */
  baseUrl(): string;
}

/** A render that ended, for whoever acts on it (email). */
export interface RenderFinished {
  rendering: Rendering;
  content: Content;
  variant: Variant;
  /** The last lines of its output, for a failure notice. */
  logTail: string[];
}

export interface RenderRepos {
  renderings: RenderingRepo;
  variants: VariantRepo;
  content: ContentRepo;
  bundles: BundleRepo;
}

const DIED = 'The server running this render stopped before it finished.';

/**
 * Runs report renders and keeps their history: on demand (a task the client polls), claimed
 * by the scheduler, and the deploy's own. A success becomes its variant's current rendering
 * (if asked) and old ones beyond the kept number are pruned; every end is told to listeners.
 */
export class RenderService {
  private readonly slots: RenderSlots;
  private readonly listeners: ((f: RenderFinished) => Promise<void>)[] = [];
  private closing = false;

  constructor(
    private readonly repos: RenderRepos,
    private readonly variants: VariantService,
    private readonly store: BundleStore,
    private readonly renderer: ReportRenderer,
    private readonly tasks: TaskService,
    private readonly audit: AuditLog,
    private readonly o: RenderServiceOptions,
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {
    this.slots = new RenderSlots(o.maxConcurrent);
  }

  get serverId(): string {
    return this.o.serverId;
  }

  onFinished(listener: (f: RenderFinished) => Promise<void>): void {
    this.listeners.push(listener);
  }

  /** Until when a render this server takes now is its own without a renewal. */
  leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.o.leaseSeconds * 1000);
  }

  /** Render on demand: the variant again from the active bundle, as a task. Never emails. */
  async requestRender(actor: Actor, user: User, { content, variant }: VariantOf): Promise<Task> {
    if (content.bundleId === null) throw AppError.badRequest('This content has not been deployed yet.', 59);
    // Connect disables rendering while content is locked (connectapi's lock_content docs).
    if (content.locked) throw AppError.badRequest('This content is locked: unlock it to render it.', ErrorCode.lockedContentProcess);
    const task = await this.tasks.create({ contentId: content.id, bundleId: content.bundleId, userId: user.id, kind: 'render', activate: true });
    const r = await this.repos.renderings.create({
      contentId: content.id,
      variantId: variant.id,
      bundleId: content.bundleId,
      trigger: 'manual',
      status: 'queued',
      activate: true,
      email: false,
      serverId: this.o.serverId,
      leaseUntil: this.leaseFrom(this.clock()),
      taskId: task.id,
      requestedBy: user.id,
    });
    await this.audit.record(actor, 'report.render', { type: 'variant', id: String(variant.id) }, { content: content.guid, rendering: r.id, task: task.id });
    void this.tasks.log(task.id, `Queued render ${r.id} of variant "${variant.name}".`);
    this.dispatch(r);
    return task;
  }

  rendering(id: number | null): Promise<Rendering | undefined> {
    return id === null ? Promise.resolve(undefined) : this.repos.renderings.byId(id);
  }

  /** A variant's renders, newest first. */
  history(variantId: number): Promise<Rendering[]> {
    return this.repos.renderings.forVariant(variantId);
  }

  /** Runs a rendering this server holds (queued by a claim or a request), when a slot frees. */
  dispatch(r: Rendering): void {
    void this.slots.run(() => this.execute(r)).catch((err: unknown) => this.logger.error({ err, rendering: r.id }, 'render failed unexpectedly'));
  }

  /** Resolves when every render started here has ended (shutdown, tests). */
  idle(): Promise<void> {
    return this.slots.idle();
  }

  /** This server still runs its renders: pushes their leases on. */
  renew(now: Date): Promise<void> {
    return this.repos.renderings.renew(this.o.serverId, this.leaseFrom(now));
  }

  /**
   * Renders whose server died while running them (their lease lapsed) are failed, and a
   * scheduled one is retried here, once: attempt 2 is not retried. Queued renders a server let
   * go of (it shut down, or died before starting them) are taken over as they are.
   */
  async sweepLapsed(now: Date): Promise<Rendering[]> {
    const taken: Rendering[] = [];
    for (const r of await this.repos.renderings.lapsed(now)) {
      const retry =
        r.trigger === 'schedule' && r.attempt < 2
          ? {
              contentId: r.contentId,
              variantId: r.variantId,
              bundleId: r.bundleId,
              trigger: 'schedule' as const,
              scheduleId: r.scheduleId,
              dueTime: r.dueTime,
              status: 'queued' as const,
              attempt: r.attempt + 1,
              activate: r.activate,
              email: r.email,
              serverId: this.o.serverId,
              leaseUntil: this.leaseFrom(now),
            }
          : null;
      const again = await this.repos.renderings.failLapsed(r.id, now, DIED, retry);
      if (again === false) continue;
      if (r.taskId) await this.tasks.finish(r.taskId, 1, DIED).catch(() => undefined);
      await this.tell({ ...r, status: 'failed', error: DIED, renderTime: now }, []);
      if (!again) continue;
      this.logger.warn({ rendering: r.id, retry: again.id }, 'a render lost its server; retrying it once');
      taken.push(again);
      this.dispatch(again);
    }
    if (this.closing) return taken;
    for (const r of await this.repos.renderings.adoptQueued(now, this.o.serverId, this.leaseFrom(now))) {
      this.logger.info({ rendering: r.id }, 'took over a queued render its server let go of');
      taken.push(r);
      this.dispatch(r);
    }
    return taken;
  }

  /**
   * Shutdown: starts no more renders, gives running ones up to `graceMs` to end, then lets go
   * of whatever is left (queued again with a lapsed lease) so another server, or this one's
   * restart, runs it. A render cut short by shutdown is neither failed nor mailed about.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    // A database that is gone must not stop the shutdown: the leases then lapse, and another
    // server (or the next start) takes the renders over as from a dead server.
    const handBack = async (what: string, f: () => Promise<number>) => {
      try {
        return await f();
      } catch (err) {
        this.logger.warn({ err }, `shutting down: could not hand back ${what} renders; their leases will lapse`);
        return 0;
      }
    };
    // Not yet started here: handed back at once, and the waiting slots start nothing.
    await handBack('queued', () => this.repos.renderings.releaseQueued(this.o.serverId, this.clock()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([this.slots.idle(), grace]);
    clearTimeout(timer);
    const released = await handBack('unfinished', () => this.repos.renderings.release(this.o.serverId, this.clock()));
    if (released) this.logger.warn({ renders: released }, 'shutting down: handed unfinished renders back for another server or the next start');
  }

  /** The deploy rendered the default variant: that is a rendering too, and now the current one. */
  async recordDeploy(c: Content, bundle: Bundle, rendered: ReportRendered, startedAt: Date, user: User | null): Promise<void> {
    const variant = await this.variants.ensureDefault(c);
    const now = this.clock();
    const r = await this.repos.renderings.create({
      contentId: c.id,
      variantId: variant.id,
      bundleId: bundle.id,
      trigger: 'deploy',
      status: 'running',
      activate: true,
      email: false,
      serverId: this.o.serverId,
      leaseUntil: this.leaseFrom(now),
      requestedBy: user?.id ?? null,
    });
    await this.repos.renderings.finish(r.id, this.o.serverId, 'succeeded', {
      ...this.outcome(rendered),
      renderTime: now,
      durationNs: Math.max(0, now.getTime() - startedAt.getTime()) * 1e6,
    });
    await this.repos.variants.activate(variant.id, r.id);
    await this.prune(variant.id);
  }

  /** The environment a render of this variant gets (also the deploy's, without a rendering). */
  envFor(c: Content, v: Variant | null, renderingId: number | null): Record<string, string> {
    return reportEnv(this.o.baseUrl(), c, v, renderingId, ADVERTISED_CONNECT_VERSION);
  }

  private outcome(rendered: ReportRendered) {
    return {
      jobKey: rendered.jobKey,
      outputPath: rendered.outputPath,
      outputFile: rendered.outputFile,
      metadataJson: rendered.metadata === null || rendered.metadata === undefined ? null : JSON.stringify(rendered.metadata),
    };
  }

  private async execute(r: Rendering): Promise<void> {
    // A shutdown has handed it back already: it is another server's (or the next start's) to run.
    if (this.closing) return;
    const tail = new LogTail(50);
    const log = (line: string) => {
      tail.push(line);
      if (r.taskId) void this.tasks.log(r.taskId, line).catch(() => undefined);
    };
    if (!(await this.repos.renderings.start(r.id, this.o.serverId, this.clock()))) return;
    // Timed on the monotonic clock: the wall clock the timestamps come from may step (NTP, or a
    // test's clock that stands still) while the render runs.
    const started = performance.now();
    const durationNs = () => Math.round((performance.now() - started) * 1e6);
    const ran = await this.run(r, log).then(
      (ok) => ({ ok, error: null }),
      (err: unknown) => ({ ok: null, error: err instanceof Error ? err.message : String(err) }),
    );
    if (ran.ok) {
      const { c, variant, rendered } = ran.ok;
      const kept = await this.repos.renderings.finish(r.id, this.o.serverId, 'succeeded', {
        ...this.outcome(rendered),
        renderTime: this.clock(),
        durationNs: durationNs(),
      });
      if (!kept) {
        // Another server declared it dead and retried it, or a shutdown handed it back: not ours.
        await this.renderer.discard(rendered.outputPath).catch(() => undefined);
        return;
      }
      // The render stands whatever happens next: a failure to make it current is logged, not a failed render.
      await this.settle(r, variant.id).catch((err: unknown) => {
        this.logger.error({ err, rendering: r.id }, 'a render succeeded but could not be made current');
        log(`Warning: render ${r.id} succeeded but could not be made current: ${err instanceof Error ? err.message : String(err)}`);
      });
      log(`Render ${r.id} finished${r.activate ? ' and is now current' : ''}.`);
      if (r.taskId) await this.tasks.finish(r.taskId, 0);
      const ended = await this.repos.renderings.byId(r.id);
      if (ended) await this.tell(ended, tail.lines(), c, variant);
      return;
    }
    // Cut short by a shutdown: handed back, not failed (the catch path of a killed process).
    if (this.closing) return;
    log(`Error: ${ran.error}`);
    // Connect's wording, which clients show: "Unable to render: ...".
    const error = `Unable to render: ${ran.error}`;
    const failed = await this.repos.renderings.finish(r.id, this.o.serverId, 'failed', {
      jobKey: null,
      error,
      renderTime: this.clock(),
      durationNs: durationNs(),
    });
    // Not ours any more: whoever took it over reports its end, once.
    if (!failed) return;
    if (r.taskId) await this.tasks.finish(r.taskId, 1, error);
    const ended = await this.repos.renderings.byId(r.id);
    if (ended) await this.tell(ended, tail.lines());
  }

  // The render itself: what it renders, and the renderer's answer. Throws with a reason a user can read.
  private async run(r: Rendering, log: (line: string) => void): Promise<{ c: Content; variant: Variant; rendered: ReportRendered }> {
    const c = await this.repos.content.byId(r.contentId);
    const variant = await this.repos.variants.byId(r.variantId);
    const bundle = c && (await this.repos.bundles.byId(c.id, r.bundleId));
    if (!c || !variant) throw new Error('The content or its variant was deleted before the render started.');
    if (!bundle?.built) throw new Error(`Bundle ${r.bundleId} is no longer available to render.`);
    log(`Rendering variant "${variant.name}" of "${c.title || c.name}" from bundle ${bundle.id} (${r.trigger}).`);
    const rendered = await this.renderer.render({
      item: {
        contentGuid: c.guid,
        bundleId: bundle.id,
        appMode: bundle.appMode,
        primaryFile: bundle.primaryFile,
        settings: runSettingsOf(c),
        bundleDir: this.store.bundleDir(c.guid, bundle.id),
        manifest: await this.store.manifest(bundle),
      },
      variantKey: variant.isDefault ? null : variant.key,
      params: variant.params ?? {},
      env: this.envFor(c, variant, r.id),
      log,
    });
    return { c, variant, rendered };
  }

  // A success becomes current (if asked) and the history is pruned.
  private async settle(r: Rendering, variantId: number): Promise<void> {
    if (r.activate) await this.repos.variants.activate(variantId, r.id);
    await this.prune(variantId);
  }

  private async tell(rendering: Rendering, logTail: string[], c?: Content, v?: Variant): Promise<void> {
    const content = c ?? (await this.repos.content.byId(rendering.contentId));
    const variant = v ?? (await this.repos.variants.byId(rendering.variantId));
    if (!content || !variant) return;
    for (const l of this.listeners) {
      await l({ rendering, content, variant, logTail }).catch((err: unknown) =>
        this.logger.error({ err, rendering: rendering.id }, 'a render listener failed'),
      );
    }
  }

  private async prune(variantId: number): Promise<void> {
    const v = await this.repos.variants.byId(variantId);
    if (!v) return;
    for (const p of await this.repos.renderings.prune(variantId, this.o.keepRenderings, v.renderingId)) {
      await this.renderer.discard(p).catch((err: unknown) => this.logger.warn({ err, path: p }, 'could not remove a pruned render'));
    }
  }
}
