import type { ServerResponse } from 'node:http';

/**
 * What the proxy tells of the traffic it serves, for the metrics (src/metrics, wired in the
 * composition root; the proxy does not know it). Called on the request path, so an
 * implementation does O(1) work in memory and no I/O: a counter and a histogram at most.
 */
export interface TrafficRecorder {
  /** A request for an item ended (answered, or the viewer left): its status and its seconds. */
  requestEnded(contentGuid: string, status: number, seconds: number): void;
  /** A viewer's WebSocket to an item was relayed to its app. */
  websocketOpened(contentGuid: string): void;
  /** That WebSocket closed (both sides). */
  websocketClosed(contentGuid: string): void;
}

/**
 * Records the request when its response closes. One listener per request, added only when
 * metrics are on; `started` is `performance.now()` when the request came in.
 */
export function recordWhenClosed(traffic: TrafficRecorder | undefined, res: ServerResponse, contentGuid: string, started: number): void {
  if (!traffic) return;
  // 'close' comes for answered and abandoned requests alike; an abandoned one keeps the
  // status it would have had (200 if nothing was written), which is what the app was doing.
  res.once('close', () => traffic.requestEnded(contentGuid, res.statusCode, (performance.now() - started) / 1000));
}
