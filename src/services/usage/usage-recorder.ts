import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { SHINY_DATA_VERSION, VISIT_DATA_VERSION, type Hit, type ShinySession, type UsageRequest, type Visit } from '../../domain/usage.ts';
import type { UsageBatch } from '../../repositories/usage-repo.ts';
import { Batcher, type BatcherOptions } from './batcher.ts';

type UsageEvent =
  { kind: 'visit'; visit: Visit } | { kind: 'hit'; hit: Hit } | { kind: 'start'; session: ShinySession } | { kind: 'end'; key: string; ended: Date };

/** Where batches go: a thread of their own in the server (threaded-writer.ts). */
export interface UsageWriter {
  write(batch: UsageBatch): Promise<void>;
  close(): Promise<void>;
}

/**
 * The proxy's `UsageRecorder` (wired by src/server.ts): each call only buffers an event; a
 * `Batcher` hands them to the writer a second later, or sooner when many are waiting.
 */
export class UsageRecorderService {
  private readonly batcher: Batcher<UsageEvent>;
  /** Open sessions, so a shutdown can end them. */
  private readonly open = new Map<string, () => void>();
  /** Paused (false), the proxy records nothing; bench/proxy pauses it to measure the cost. */
  recording = true;

  constructor(
    private readonly writer: UsageWriter,
    options: BatcherOptions,
    logger: Logger,
  ) {
    this.batcher = new Batcher<UsageEvent>(
      (events) => writer.write(toBatch(events)),
      options,
      (err, rows) => logger.warn({ err, rows }, 'usage rows could not be written and were dropped'),
    );
  }

  hit(r: UsageRequest): void {
    // The request as the proxy saw it is the hit (its bundle id rides along unused): no copy
    // per request.
    this.batcher.add({ kind: 'hit', hit: r });
  }

  visit(r: UsageRequest & { shown: { variantKey: string; renderingId: number } | null }): void {
    this.batcher.add({
      kind: 'visit',
      visit: {
        contentGuid: r.contentGuid,
        userGuid: r.userGuid,
        variantKey: r.shown?.variantKey ?? null,
        renderingId: r.shown?.renderingId ?? null,
        bundleId: r.bundleId,
        path: r.path,
        userAgent: r.userAgent,
        time: r.time,
        dataVersion: VISIT_DATA_VERSION,
      },
    });
  }

  sessionStarted(contentGuid: string, userGuid: string | null, at: Date): () => void {
    const key = randomUUID();
    this.batcher.add({ kind: 'start', session: { key, contentGuid, userGuid, started: at, ended: null, dataVersion: SHINY_DATA_VERSION } });
    const end = () => {
      if (!this.open.delete(key)) return;
      this.batcher.add({ kind: 'end', key, ended: new Date() });
    };
    this.open.set(key, end);
    return end;
  }

  /** Rows dropped so far (over the cap, or a failed write). */
  get dropped(): number {
    return this.batcher.dropped;
  }

  /** Writes what is buffered (tests wait on it instead of sleeping). */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** At shutdown: sessions still open end now, and everything buffered is written. */
  async close(): Promise<void> {
    for (const end of [...this.open.values()]) end();
    await this.batcher.close();
    await this.writer.close();
  }
}

/** Splits events into the tables' rows; a session that began and ended in this batch is written ended. */
function toBatch(events: UsageEvent[]): UsageBatch {
  const visits: Visit[] = [];
  const hits: Hit[] = [];
  const sessions = new Map<string, ShinySession>();
  const ends: Array<{ key: string; ended: Date }> = [];
  for (const e of events) {
    if (e.kind === 'visit') visits.push(e.visit);
    else if (e.kind === 'hit') hits.push(e.hit);
    else if (e.kind === 'start') sessions.set(e.session.key, { ...e.session });
    else {
      const s = sessions.get(e.key);
      if (s) s.ended = e.ended;
      else ends.push({ key: e.key, ended: e.ended });
    }
  }
  return { visits, hits, sessions: [...sessions.values()], ends };
}
