import { NO_CONTENT_EVENTS } from '../domain/deploy.ts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ContentEvents } from '../domain/deploy.ts';
import type { DeployService } from '../services/deploy-service.ts';
import type { RenderService } from '../services/reports/render-service.ts';
import { ContentTraffic } from './content-traffic.ts';
import { registerStateGauges, type StateSources } from './state-gauges.ts';
import { WorkMetrics } from './work-metrics.ts';

export interface MetricsDeps {
  deploys: Pick<DeployService, 'onFinished'>;
  renders: Pick<RenderService, 'onFinished'>;
  /** Content events: a deleted item's series are dropped. */
  subscribe(listener: ContentEvents): void;
  state: StateSources;
}

/** The server's Prometheus metrics: what the proxy, the scheduler and the outbox report into, and the registry to expose. */
export interface Metrics {
  registry: Registry;
  /** The proxy's `TrafficRecorder`. */
  traffic: ContentTraffic;
  work: WorkMetrics;
}

/**
 * One registry per server (not prom-client's global one), so servers in one process (tests)
 * keep their own counts. Deploys and renders are heard through their services' listeners and
 * deletions through the content events; the scheduler and the outbox report through the
 * composition root (src/server.ts), which owns them.
 */
export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const traffic = new ContentTraffic(registry);
  const work = new WorkMetrics(registry);
  registerStateGauges(registry, deps.state);
  deps.deploys.onFinished((d) => work.deployFinished(d));
  deps.renders.onFinished(async (f) => work.renderFinished(f.rendering));
  deps.subscribe({ ...NO_CONTENT_EVENTS, contentDeleted: (guid) => traffic.forget(guid) });
  return { registry, traffic, work };
}
