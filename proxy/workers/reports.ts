import type { UsageBatch } from '../../src/repositories/usage-repo.ts';
import type { UsageWriter } from '../../src/services/usage/usage-recorder.ts';
import type { TrafficRecorder } from '../traffic.ts';
import type { Channel, FromWorker, ToWorker, TrafficReport } from './protocol.ts';

const TRAFFIC_EVERY_MS = 1000;

/**
 * A worker's TrafficRecorder: what it would have recorded goes to the owner's metrics once a
 * second, in one message.
 */
export class TrafficToOwner implements TrafficRecorder {
  private report: TrafficReport = { ended: [], opened: [], closed: [] };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly owner: Channel<FromWorker>) {
    this.timer = setInterval(() => this.flush(), TRAFFIC_EVERY_MS);
    this.timer.unref();
  }

  requestEnded(contentGuid: string, status: number, seconds: number): void {
    this.report.ended.push([contentGuid, status, seconds]);
  }

  websocketOpened(contentGuid: string): void {
    this.report.opened.push(contentGuid);
  }

  websocketClosed(contentGuid: string): void {
    this.report.closed.push(contentGuid);
  }

  flush(): void {
    const r = this.report;
    if (!r.ended.length && !r.opened.length && !r.closed.length) return;
    this.report = { ended: [], opened: [], closed: [] };
    this.owner.send({ t: 'traffic', report: r });
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

/** A worker's usage batches, written by the owner's writer (one writer per server). */
export class UsageToOwner implements UsageWriter {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(private readonly owner: Channel<FromWorker>) {}

  write(batch: UsageBatch): Promise<void> {
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.owner.send({ t: 'usage', id, batch });
    });
  }

  /** The owner's answer to a batch; false for other messages. */
  handle(m: ToWorker): boolean {
    if (m.t !== 'usage-written') return false;
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.error === undefined) w?.resolve();
    else w?.reject(new Error(m.error));
    return true;
  }

  async close(): Promise<void> {}
}
