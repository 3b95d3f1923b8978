import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { statusClass } from './status-class.ts';

// Seconds, from a static file served at once to an app's slow report.
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Requests and WebSockets per content item, recorded by the proxy (its `TrafficRecorder`). Each
 * call is one counter increment or one histogram observation in memory. Labels are the item's
 * guid (only items that exist: the proxy records after resolving them) and the status class,
 * never a path or a user, so the series grow with the content, and an item's go when it is deleted.
 */
export class ContentTraffic {
  private readonly requests: Counter<'content_guid' | 'status_class'>;
  private readonly latency: Histogram<'content_guid'>;
  private readonly websockets: Counter<'content_guid'>;
  // Open WebSockets per item, read by the gauge at scrape time: a socket that closes after its
  // item was deleted (and forgotten) cannot bring back a series of -1.
  private readonly open = new Map<string, number>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'lectern_content_requests_total',
      help: 'Requests for a content item, by status class.',
      labelNames: ['content_guid', 'status_class'],
      registers,
    });
    this.latency = new Histogram({
      name: 'lectern_content_request_duration_seconds',
      help: 'Seconds from a request for a content item coming in to its response closing.',
      labelNames: ['content_guid'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.websockets = new Counter({
      name: 'lectern_content_websockets_total',
      help: 'WebSockets to a content item handed to the relay.',
      labelNames: ['content_guid'],
      registers,
    });
    const open = this.open;
    new Gauge({
      name: 'lectern_content_websockets_open',
      help: 'WebSockets to a content item open now.',
      labelNames: ['content_guid'],
      registers,
      collect() {
        this.reset();
        for (const [guid, n] of open) this.set({ content_guid: guid }, n);
      },
    });
  }

  requestEnded(contentGuid: string, status: number, seconds: number): void {
    this.requests.inc({ content_guid: contentGuid, status_class: statusClass(status) });
    this.latency.observe({ content_guid: contentGuid }, seconds);
  }

  websocketOpened(contentGuid: string): void {
    this.websockets.inc({ content_guid: contentGuid });
    this.open.set(contentGuid, (this.open.get(contentGuid) ?? 0) + 1);
  }

  websocketClosed(contentGuid: string): void {
    const n = this.open.get(contentGuid);
    if (n === undefined) return;
    if (n > 1) this.open.set(contentGuid, n - 1);
    else this.open.delete(contentGuid);
  }

  /** A deleted item's series go with it. */
  forget(contentGuid: string): void {
    for (const cls of ['1xx', '2xx', '3xx', '4xx', '5xx', 'other']) this.requests.remove({ content_guid: contentGuid, status_class: cls });
    this.latency.remove({ content_guid: contentGuid });
    this.websockets.remove({ content_guid: contentGuid });
    this.open.delete(contentGuid);
  }
}
