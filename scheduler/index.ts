import type { Logger } from '../src/logging/logger.ts';
import type { RenderService } from '../src/services/reports/render-service.ts';
import type { ScheduleService } from '../src/services/reports/schedule-service.ts';

/** What the loop needs of the render side (RenderService): its identity, leases, the dead-render sweep, and a start. */
export type SchedulerRenders = Pick<RenderService, 'serverId' | 'leaseFrom' | 'renew' | 'sweepLapsed' | 'dispatch'>;

/** Whatever else runs on the scheduler's clock (the mail outbox): called each tick, never twice at once. */
export interface TimedWork {
  name: string;
  run(now: Date): Promise<void>;
}

export interface SchedulerOptions {
  /** Seconds between looks at the database for due work. */
  tickSeconds: number;
  /** Schedules claimed per transaction (a tick claims until none are due). */
  batch: number;
  /** Told, for each claimed schedule, the seconds from its due time to its dispatch (metrics). */
  onDispatched?(lagSeconds: number): void;
}

export interface TickResult {
  claimed: number;
  /** Renders retried after their server died, or taken over from a server that let go of them. */
  retried: number;
}

/**
 * Timed work: renders on a schedule, the retry of renders whose server died, and the mail
 * outbox. Due times, claims and history live in the database (ScheduleRepo.claimDue), so this
 * loop only looks every `tickSeconds`: a restart loses nothing, a missed slot runs once, and
 * servers sharing a PostgreSQL database claim each due run once between them.
 *
 * The clock is a dependency, so tests drive it and call `tick()` instead of sleeping. node-cron
 * is not used: the schedules are rows with a next run, not cron expressions in memory, so all
 * the loop needs is a timer that never overlaps itself.
 *
 * Only the server starts and stops it (src/server.ts), never the CLI.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;
  private readonly busy = new Map<string, Promise<void>>();
  private running = false;

  constructor(
    private readonly schedules: ScheduleService,
    private readonly renders: SchedulerRenders,
    private readonly work: TimedWork[],
    private readonly o: SchedulerOptions,
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.logger.info({ server: this.renders.serverId, tickSeconds: this.o.tickSeconds }, 'scheduler started');
    this.plan(0);
  }

  /** Stops taking new work; resolves when the tick under way has ended (renders keep running to their end). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.all(this.busy.values());
  }

  // Ticks keep their cadence (every tickSeconds from the last one's start), and never overlap.
  private plan(delayMs: number): void {
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.ticking = this.tick()
        .catch((err: unknown) => this.logger.error({ err }, 'scheduler tick failed'))
        .finally(() => {
          this.ticking = undefined;
          if (this.running) this.plan(Math.max(0, this.o.tickSeconds * 1000 - (Date.now() - started)));
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One look at the clock: keep this server's renders alive, retry dead ones, start due ones. */
  async tick(): Promise<TickResult> {
    const now = this.clock();
    await this.renders.renew(now);
    const retried = await this.renders.sweepLapsed(now);
    let claimed = 0;
    for (;;) {
      const batch = await this.schedules.claimDue(now, this.o.batch, this.renders.serverId, this.renders.leaseFrom(now));
      for (const r of batch) {
        this.renders.dispatch(r);
        if (r.dueTime) this.o.onDispatched?.((this.clock().getTime() - r.dueTime.getTime()) / 1000);
      }
      claimed += batch.length;
      if (batch.length < this.o.batch) break;
    }
    for (const w of this.work) this.runWork(w, now);
    return { claimed, retried: retried.length };
  }

  // Other work (SMTP can take its time) runs beside the ticks, one run of each at a time.
  private runWork(w: TimedWork, now: Date): void {
    if (this.busy.has(w.name)) return;
    const p = w
      .run(now)
      .catch((err: unknown) => this.logger.error({ err, work: w.name }, 'scheduled work failed'))
      .finally(() => this.busy.delete(w.name));
    this.busy.set(w.name, p);
  }

  /** Resolves when the other work started by ticks so far has ended (tests). */
  async settled(): Promise<void> {
    await Promise.all(this.busy.values());
  }
}
