import { AUDIT_ACTIONS, type AuditAction } from '../../domain/audit.ts';
import { AppError } from '../../domain/errors.ts';
import { describeAuditEvent } from '../../domain/audit-events.ts';
import { formText, renderPage, requireAdmin, requireLogin, type Page } from './page.ts';

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

/** A `YYYY-MM-DD` from a date input as the start of that UTC day; anything else: none. */
export function utcDay(v: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return undefined;
  const d = new Date(`${v}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v ? undefined : d;
}

/**
 * `/admin/audit`: the audit log, newest first, filtered by action, by who did it and by a
 * range of UTC days (both ends included), 50 at a time. "Older" pages by the last entry's id
 * (AuditLog.page), so entries written meanwhile never shift what the next page shows.
 */
export const adminAuditPage: Page = (r, d) => {
  r.get('/admin/audit', requireLogin, requireAdmin, async (req, res) => {
    const asked = formText(req.query.action, 64);
    const action = (AUDIT_ACTIONS as readonly string[]).includes(asked) ? (asked as AuditAction) : undefined;
    const form = {
      action: action ?? '',
      user: formText(req.query.user, 64).trim(),
      from: formText(req.query.from, 10),
      to: formText(req.query.to, 10),
    };
    const before = Number.parseInt(formText(req.query.before, 20), 10);
    const warnings: string[] = [];
    let actorUserId: number | undefined;
    if (form.user) {
      // An unknown name matches nothing (it is said so) rather than being ignored.
      actorUserId = await d.users.byUsername(form.user).then(
        (u) => u.id,
        (err: unknown) => {
          if (!(err instanceof AppError) || err.status !== 404) throw err;
          warnings.push(`No user is named '${form.user}'.`);
          return -1;
        },
      );
    }
    const to = utcDay(form.to);
    const entries = await d.audit.page({
      action,
      actorUserId,
      from: utcDay(form.from),
      until: to && new Date(to.getTime() + DAY_MS),
      beforeId: Number.isSafeInteger(before) && before > 0 ? before : undefined,
      limit: PAGE_SIZE + 1,
    });
    const more = entries.length > PAGE_SIZE;
    const shown = entries.slice(0, PAGE_SIZE);
    const older = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    if (more) older.set('before', String(shown[shown.length - 1]!.id));
    renderPage(d, req, res, 'admin-audit', {
      title: 'Audit log',
      adminSection: 'audit',
      form,
      actions: AUDIT_ACTIONS,
      entries: shown,
      warnings,
      olderLink: more ? `/admin/audit?${older.toString()}` : null,
      paged: before > 0,
      pageScripts: ['local-time.js'],
      describe: describeAuditEvent,
    });
  });
};
