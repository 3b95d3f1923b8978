import type { Logger } from 'pino';
import { formatBytes } from '../../domain/disk-space.ts';
import type { Freed, PrunePart } from '../../domain/retention.ts';

const DAY_MS = 24 * 3600 * 1000;

/** What one part did in a prune: freed something (or nothing), was off, failed, or ran on another server. */
export interface PruneReport {
  part: string;
  freed?: Freed;
  off?: string;
  error?: string;
  /** A shared part another server sharing the database ran today. */
  elsewhere?: true;
}

export interface PruneParts {
  /** Parts over the database every server shares (and the files it names): one server a day runs them. */
  shared: PrunePart[];
  /** Parts over this server's data directory: every server runs them. */
  local: PrunePart[];
}

/**
 * The daily prune, one of the scheduler's timed works: the scheduler calls `run` every tick;
 * this prunes once a day, first at start-up. Each part logs one line with what it freed, and a
 * part that fails is logged and the others go on. With several servers on one database the
 * shared parts run on the one that claims the day's run (TimedWorkRepo.claim); each part is
 * safe to run twice anyway (deletes by age, a bundle deleted only if unused at that moment).
 */
export class DailyPrune {
  readonly name = 'retention';
  private last: number | undefined;

  constructor(
    private readonly parts: PruneParts,
    private readonly claim: (now: Date) => Promise<boolean>,
    private readonly logger: Logger,
  ) {}

  async run(now: Date): Promise<void> {
    if (this.last !== undefined && now.getTime() - this.last < DAY_MS) return;
    this.last = now.getTime();
    await this.prune(now);
  }

  /** One prune now, whatever the day: the shared parts if this server claims the day's run, then the local ones. */
  async prune(now: Date): Promise<PruneReport[]> {
    const reports: PruneReport[] = [];
    let claimed: boolean | Error;
    try {
      claimed = await this.claim(now);
    } catch (err) {
      claimed = err instanceof Error ? err : new Error(String(err));
    }
    if (claimed === false) {
      this.logger.info({ parts: this.parts.shared.map((p) => p.name) }, "retention: another server ran today's prune of the database");
      reports.push(...this.parts.shared.map((p) => ({ part: p.name, elsewhere: true as const })));
    } else if (claimed instanceof Error) {
      this.logger.error({ err: claimed }, "retention: could not claim today's prune of the database; it waits for tomorrow");
      reports.push(...this.parts.shared.map((p) => ({ part: p.name, error: claimed.message })));
    } else {
      for (const p of this.parts.shared) reports.push(await this.runPart(p, now));
    }
    for (const p of this.parts.local) reports.push(await this.runPart(p, now));
    return reports;
  }

  private async runPart(p: PrunePart, now: Date): Promise<PruneReport> {
    if (p.off !== undefined) {
      this.logger.info({ part: p.name, off: p.off }, `retention: ${p.name} kept (${p.off})`);
      return { part: p.name, off: p.off };
    }
    const started = performance.now();
    try {
      const freed = await p.prune(now);
      const ms = Math.round(performance.now() - started);
      this.logger.info(
        { part: p.name, ...freed, ms },
        `retention: ${p.name} freed ${freed.rows} row${freed.rows === 1 ? '' : 's'}, ${freed.files} file${freed.files === 1 ? '' : 's'}, ${formatBytes(freed.bytes)}`,
      );
      return { part: p.name, freed };
    } catch (err) {
      this.logger.error({ err, part: p.name }, `retention: ${p.name} failed; the other parts go on`);
      return { part: p.name, error: err instanceof Error ? err.message : String(err) };
    }
  }
}
