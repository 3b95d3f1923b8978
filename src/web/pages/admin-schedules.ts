import type { Schedule } from '../../domain/reports.ts';
import { describeRule } from '../../domain/schedules/describe-rule.ts';
import { parseScheduleRule } from '../../domain/schedules/schedule-rule.ts';
import { renderPage, requireAdmin, requireLogin, type Page } from './page.ts';

const DAYS = 7;
// A minute rule runs ten thousand times a week; the agenda lists the first of them and says so.
const MAX_RUNS = 50;

/** A schedule's rule in words ("Every Monday, Wednesday"), or its type and JSON if it no longer parses. */
function ruleText(s: Schedule): string {
  const parsed = parseScheduleRule(s.type, s.schedule);
  return parsed.ok ? describeRule(parsed.rule) : `${s.type} ${s.schedule}`;
}

export interface AgendaRun {
  at: Date;
  title: string;
  guid: string;
  variant: string;
}

/**
 * Runs in time order, one group per UTC day (`2026-12-04`): what the page shows without a
 * script. views/static/local-time.js regroups them by the viewer's own days.
 */
export function agendaByUtcDay(runs: readonly AgendaRun[]): Array<{ day: string; runs: AgendaRun[] }> {
  const days = new Map<string, AgendaRun[]>();
  for (const run of [...runs].sort((a, b) => a.at.getTime() - b.at.getTime())) {
    const day = run.at.toISOString().slice(0, 10);
    days.set(day, [...(days.get(day) ?? []), run]);
  }
  return [...days].map(([day, dayRuns]) => ({ day, runs: dayRuns }));
}

/**
 * `/admin/schedules`: every schedule on the server with its content, variant and zone, and an
 * agenda of the runs over the coming week, computed by ScheduleService from the scheduler's
 * own rule arithmetic. Times are UTC in the page and local in the browser (local-time.js).
 */
export const adminSchedulesPage: Page = (r, d) => {
  r.get('/admin/schedules', requireLogin, requireAdmin, async (req, res) => {
    const { window, schedules } = await d.reports.schedules.calendar(req.user!, DAYS, MAX_RUNS);
    const runs = schedules.flatMap((s) =>
      s.runs.map((at) => ({ at, title: s.of.content.title ?? s.of.content.name, guid: s.of.content.guid, variant: s.of.variant.name })),
    );
    renderPage(d, req, res, 'admin-schedules', {
      title: 'Schedules',
      adminSection: 'schedules',
      schedules,
      agenda: agendaByUtcDay(runs),
      window,
      days: DAYS,
      maxRuns: MAX_RUNS,
      ruleText,
      pageScripts: ['local-time.js'],
    });
  });
};
