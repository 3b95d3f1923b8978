import type { Logger } from 'pino';
import type { AppContext } from './app-context.ts';
import type { Config } from './config/index.ts';
import type { observability } from './observability.ts';
import { Scheduler } from '../scheduler/index.ts';

/** The server's timed work: scheduled renders, the mail outbox, git polling, pruning, LDAP group sync. */
export function timedWork(ctx: AppContext, config: Config, metrics: ReturnType<typeof observability>['metrics'], logger: Logger): Scheduler {
  return new Scheduler(
    ctx.reports.schedules,
    ctx.reports.renders,
    // The outbox: every server drains it, each send claimed by one.
    [
      {
        name: 'mail',
        run: async (now) => {
          const report = await ctx.mail.outbox.deliverDue(now, ctx.reports.renders.serverId);
          metrics?.work.mailDelivered(report);
        },
      },
      // Git-backed content with polling on: a look at each branch every git.pollIntervalSeconds.
      { name: 'git-poll', run: async (now) => void (await ctx.git.poller.run(now)) },
      // The daily prune: old task and job logs, bundles, render output, uploads, audit, usage.
      ctx.retention,
      // With LDAP logins: the groups of LDAP users re-read every auth.ldap.groupSyncHours.
      ...(ctx.ldapSync ? [ctx.ldapSync] : []),
    ],
    { tickSeconds: config.reports.tickSeconds, batch: 50, onDispatched: metrics && ((lag) => metrics.work.scheduleDispatched(lag)) },
    ctx.clock,
    logger.child({ component: 'scheduler' }),
  );
}
