import type { AppContext } from './app-context.ts';
import { poolUse } from './db/pool-use.ts';
import { createMetrics } from './metrics/create-metrics.ts';
import { ThreadedUsageWriter } from './services/usage/threaded-writer.ts';
import { UsageRecorderService } from './services/usage/usage-recorder.ts';

/** What the server records of itself, as the configuration asks: Prometheus metrics and usage. */
export function observability(ctx: AppContext) {
  const { config, logger } = ctx;
  // Prometheus metrics, when the administrator turned them on: recorded by the proxy, the
  // scheduler, the outbox and the services' own listeners, read from the runner and the pool.
  const metrics =
    config.metrics.enabled || config.metrics.listen !== undefined
      ? createMetrics({
          deploys: ctx.deploys,
          renders: ctx.reports.renders,
          subscribe: ctx.subscribe,
          state: { runningProcesses: () => ctx.runtime.runner.running(), backend: ctx.runtime.name, databasePool: () => poolUse(ctx.db) },
        })
      : undefined;
  // Usage instrumentation: the proxy buffers visits, hits and Shiny sessions; a batch is
  // written every second (or sooner when many wait) by a thread of its own, with its own
  // connection, never on the request's way nor on the event loop that relays them. Proxy
  // workers hand their batches to the same writer.
  const usageWriter = config.usage.enabled ? new ThreadedUsageWriter(config) : undefined;
  const usage = usageWriter
    ? new UsageRecorderService(
        usageWriter,
        { flushRows: config.usage.flushRows, flushMs: 1000, maxRows: config.usage.maxBufferedRows },
        logger.child({ component: 'usage' }),
      )
    : undefined;
  return { metrics, usageWriter, usage };
}
