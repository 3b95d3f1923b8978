import { Counter, Histogram, type Registry } from 'prom-client';
import type { Rendering } from '../domain/reports.ts';
import type { DeliveryReport } from '../services/mail/mail-outbox.ts';
import type { DeployFinished } from '../services/deploy-service.ts';

// Seconds: a static deploy takes a moment, a fresh R environment can take many minutes.
const BUILD_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
// Seconds late: a tick is 2 s by default, so most dispatches fall in the first buckets.
const LAG_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

/** Deploys, renders, the scheduler's lag and the mail outbox: fed by their own events (src/metrics/index.ts). */
export class WorkMetrics {
  private readonly deploys: Histogram<'outcome' | 'kind'>;
  private readonly renders: Counter<'trigger' | 'outcome'>;
  private readonly renderSeconds: Histogram<'trigger' | 'outcome'>;
  private readonly lag: Histogram;
  private readonly mail: Counter<'outcome'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deploys = new Histogram({
      name: 'lectern_deploy_duration_seconds',
      help: 'Seconds a deploy took, by outcome (success, failure) and kind (active, draft); its count is the number of deploys.',
      labelNames: ['outcome', 'kind'],
      buckets: BUILD_BUCKETS,
      registers,
    });
    this.renders = new Counter({
      name: 'lectern_renders_total',
      help: "Report renders that ended, by trigger (manual, schedule) and outcome (success, failure); a deploy's render is part of the deploy (lectern_deploy_duration_seconds).",
      labelNames: ['trigger', 'outcome'],
      registers,
    });
    this.renderSeconds = new Histogram({
      name: 'lectern_render_duration_seconds',
      help: 'Seconds a report render ran, for renders that started.',
      labelNames: ['trigger', 'outcome'],
      buckets: BUILD_BUCKETS,
      registers,
    });
    this.lag = new Histogram({
      name: 'lectern_scheduler_lag_seconds',
      help: "Seconds from a schedule's due time to the dispatch of its render.",
      buckets: LAG_BUCKETS,
      registers,
    });
    this.mail = new Counter({
      name: 'lectern_mail_sends_total',
      help: 'Attempts to send a message to one recipient, by outcome (sent, retried later, failed for good).',
      labelNames: ['outcome'],
      registers,
    });
    // Shown at 0 from the start, so a rate over them is defined before the first send.
    for (const outcome of ['sent', 'retried', 'failed']) this.mail.inc({ outcome }, 0);
  }

  deployFinished(d: DeployFinished): void {
    this.deploys.observe({ outcome: d.ok ? 'success' : 'failure', kind: d.draft ? 'draft' : 'active' }, d.seconds);
  }

  renderFinished(r: Rendering): void {
    const labels = { trigger: r.trigger, outcome: r.status === 'succeeded' ? 'success' : 'failure' };
    this.renders.inc(labels);
    const ms = r.renderDurationNs !== null ? r.renderDurationNs / 1e6 : r.startedTime && r.renderTime ? r.renderTime.getTime() - r.startedTime.getTime() : null;
    if (ms !== null) this.renderSeconds.observe(labels, ms / 1000);
  }

  scheduleDispatched(lagSeconds: number): void {
    this.lag.observe(Math.max(0, lagSeconds));
  }

  mailDelivered(report: DeliveryReport): void {
    if (report.sent) this.mail.inc({ outcome: 'sent' }, report.sent);
    if (report.retried) this.mail.inc({ outcome: 'retried' }, report.retried);
    if (report.failed) this.mail.inc({ outcome: 'failed' }, report.failed);
  }
}
