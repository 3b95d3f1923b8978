import type { Request } from 'express';
import { AppError } from '../../domain/errors.ts';
import { WEEKDAY_NAMES, WEEK_OF_MONTH_NAMES, describeRule } from '../../domain/schedules/describe-rule.ts';
import { runsBetween } from '../../domain/schedules/next-run.ts';
import { SCHEDULE_TYPES, parseScheduleRule } from '../../domain/schedules/schedule-rule.ts';
import { actorOf } from '../../http/actor.ts';
import { knownTimeZones } from '../../services/reports/time-zone-list.ts';
import type { SettingsSection } from './content-section.ts';
import { formValues, scheduleFromForm } from './schedule-form.ts';
import type { PageDeps } from './page.ts';

const UPCOMING = 5;
// The last instant a Date holds: the next runs, however far off.
const END_OF_TIME = new Date(8.64e15);

/** The variant the tab is about: the one asked for (`?variant=` or the form's), else the default. */
async function chosenVariant(d: PageDeps, req: Request, wanted: unknown) {
  const variants = await d.reports.variants.list(req.user!, String(req.params.guid));
  const chosen = variants.find((v) => String(v.variant.id) === String(wanted)) ?? variants.find((v) => v.variant.isDefault) ?? variants[0];
  if (!chosen) throw AppError.badRequest('Only rendered reports have schedules.');
  return { variants, chosen };
}

/**
 * The Schedule tab of a rendered report: one schedule per variant, in Connect's rules, with its
 * next runs (shown in the viewer's own time zone by views/static/local-time.js; UTC without
 * JavaScript). The ScheduleService checks and audits, as for the API.
 */
export const scheduleSection: SettingsSection = {
  tab: 'schedule',
  label: 'Schedule',
  applies: (d, c) => d.reports.variants.isRendered(c),
  load: async (d, req) => {
    const { variants, chosen } = await chosenVariant(d, req, req.query.variant);
    const [saved] = await d.reports.schedules.forVariant(req.user!, chosen.variant.id);
    const rule = saved ? parseScheduleRule(saved.type, saved.schedule) : undefined;
    const now = new Date();
    return {
      schedule: {
        variants: variants.map((v) => ({ id: v.variant.id, name: v.variant.name })),
        variantId: chosen.variant.id,
        saved: saved ? { id: saved.id, rule: rule?.ok ? describeRule(rule.rule) : saved.type, timezone: saved.timezone, email: saved.email } : null,
        upcoming: saved && rule?.ok ? runsBetween(rule.rule, saved.startTime, saved.timezone, { start: now, end: END_OF_TIME }, UPCOMING) : [],
        form: formValues(saved, 'UTC', now),
        types: SCHEDULE_TYPES,
        weekdays: WEEKDAY_NAMES,
        weeks: WEEK_OF_MONTH_NAMES,
        zones: knownTimeZones(),
      },
    };
  },
  actions: (d) => ({
    schedule: async (req) => {
      const body = req.body as Record<string, unknown>;
      const { chosen } = await chosenVariant(d, req, body.variant);
      const input = { appId: chosen.content.id, variantId: chosen.variant.id, activate: true, ...scheduleFromForm(body) };
      const [saved] = await d.reports.schedules.forVariant(req.user!, chosen.variant.id);
      if (saved) await d.reports.schedules.replace(actorOf(req, 'web'), req.user!, saved.id, input);
      else await d.reports.schedules.create(actorOf(req, 'web'), req.user!, input);
      return `/apps/${chosen.content.guid}/schedule?variant=${chosen.variant.id}&saved=1`;
    },
    'schedule-delete': async (req) => {
      const { chosen } = await chosenVariant(d, req, (req.body as Record<string, unknown>).variant);
      const [saved] = await d.reports.schedules.forVariant(req.user!, chosen.variant.id);
      if (saved) await d.reports.schedules.remove(actorOf(req, 'web'), req.user!, saved.id);
      return `/apps/${chosen.content.guid}/schedule?variant=${chosen.variant.id}&saved=1`;
    },
  }),
};
