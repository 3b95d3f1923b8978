import type { Logger } from '../src/logging/logger.ts';

/**
 * Timed work: schedules, renders on a schedule, email of rendered output. Only the server
 * starts and stops it (src/server.ts), never the CLI, so a command run next to a live server
 * cannot run a schedule twice. Empty for now: it logs that it started.
 */
export class Scheduler {
  private running = false;

  constructor(private readonly logger: Logger) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.logger.info('scheduler started (no schedules yet)');
  }

  /** Stops taking new work; resolves when running work has finished (none yet). */
  async stop(): Promise<void> {
    this.running = false;
  }
}
