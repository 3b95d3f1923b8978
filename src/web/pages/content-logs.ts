import type { SettingsSection } from './content-section.ts';

/**
 * The Logs tab: the item's jobs (processes and renders), newest first, and the one to follow
 * (asked for, else the newest), which views/static/log-tail.js follows over the API's SSE tail.
 */
export const logsSection: SettingsSection = {
  tab: 'logs',
  label: 'Logs',
  load: async (d, req, c) => {
    const jobs = (await d.jobs.list(c.guid)).sort((a, b) => b.startTime.localeCompare(a.startTime)).slice(0, 50);
    const selected = jobs.find((j) => j.key === req.query.job)?.key ?? jobs[0]?.key ?? '';
    return { logs: { jobs, selected } };
  },
};
