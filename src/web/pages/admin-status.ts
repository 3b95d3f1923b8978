import { formatBytes } from '../../domain/disk-space.ts';
import { renderPage, requireAdmin, requireLogin, type Page } from './page.ts';

/** `3 d 4 h 5 min` (minutes at least: the page is read, not timed). */
export function formatUptime(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const parts: string[] = [];
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days) parts.push(`${days} d`);
  if (days || hours) parts.push(`${hours} h`);
  parts.push(`${minutes % 60} min`);
  return parts.join(' ');
}

/** `/admin/status`: version, uptime, database, backend, runtimes, counts, and the data directory's free space. */
export const adminStatusPage: Page = (r, d) => {
  r.get('/admin/status', requireLogin, requireAdmin, async (req, res) => {
    const status = await d.status.read();
    renderPage(d, req, res, 'admin-status', { title: 'Server status', adminSection: 'status', status, formatUptime, formatBytes });
  });
};
