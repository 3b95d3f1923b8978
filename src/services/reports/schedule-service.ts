import { isUniqueViolation } from '../../db/values.ts';
import { AppError } from '../../domain/errors.ts';
import { asId } from '../../domain/ids.ts';
import type { Rendering, Schedule } from '../../domain/reports.ts';
import { nextRun, runsBetween } from '../../domain/schedules/next-run.ts';
import { parseScheduleRule, type ScheduleRule } from '../../domain/schedules/schedule-rule.ts';
import { isValidTimeZone } from '../../domain/schedules/time-zones.ts';
import type { Actor, User } from '../../domain/user.ts';
import type { Logger } from '../../logging/logger.ts';
import type { ScheduleFields, ScheduleRepo } from '../../repositories/schedule-repo.ts';
import type { AuditLog } from '../audit-log.ts';
import type { VariantOf, VariantService } from './variant-service.ts';

/** Connect's error codes for schedules (connect-api-next.md §3.7). */
const INVALID_APP_FOR_SCHEDULE = 72;
const INVALID_SCHEDULE = 245;
const INVALID_START_TIME = 37;
const DUPLICATE_SCHEDULE = 102;

/** A schedule as a client sends it, already checked for types (the API's job). */
export interface ScheduleInput {
  appId: number;
  variantId: number;
  type: unknown;
  /** A string holding JSON (an object is accepted and kept as its JSON). */
  schedule: unknown;
  startTime: string | undefined;
  timezone: string | undefined;
  activate: boolean | undefined;
  email: boolean | undefined;
}

/** The rule a stored schedule holds (it was checked when saved). */
function ruleOf(s: Schedule): ScheduleRule | null {
  const parsed = parseScheduleRule(s.type, s.schedule);
  return parsed.ok ? parsed.rule : null;
}

/** When a schedule runs next after `after`: a missed slot is not made up, the next one is. */
function followingRun(s: Schedule, after: Date): Date | null {
  const rule = ruleOf(s);
  return rule ? nextRun(rule, s.startTime, s.timezone, after) : null;
}

/** A schedule with its runs in a window, for the administrator's calendar. */
export interface ScheduleRuns {
  schedule: Schedule;
  of: VariantOf;
  runs: Date[];
  /** More runs fall in the window than were listed. */
  more: boolean;
  /** The rule or zone no longer computes (as a parked schedule's). */
  broken: boolean;
}

/**
 * The claim's next run: a schedule whose zone or rule no longer computes (a time zone dropped
 * from the runtime's database) is parked (no next run) and logged, instead of failing the whole
 * claim, and with it every other due schedule, on every tick.
 */
function followingOrParked(s: Schedule, after: Date, logger: Logger): Date | null {
  try {
    return followingRun(s, after);
  } catch (err) {
    logger.error({ err, schedule: s.id, timezone: s.timezone }, 'a schedule has no computable next run: it is parked until it is saved again');
    return null;
  }
}

/**
 * Schedules of report variants: one per variant, checked (type and rule, zone, start time),
 * with the next run computed when saved. Changes are audited.
 */
export class ScheduleService {
  constructor(
    private readonly schedules: ScheduleRepo,
    private readonly variants: VariantService,
    private readonly audit: AuditLog,
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {}

  async forVariant(user: User, variantId: unknown): Promise<Schedule[]> {
    const { variant } = await this.variants.visible(user, variantId);
    const s = await this.schedules.forVariant(variant.id);
    return s ? [s] : [];
  }

  async get(user: User, rawId: unknown): Promise<Schedule> {
    const s = await this.find(rawId);
    await this.variants.visible(user, s.variantId).catch(() => {
      throw AppError.notFound('The requested schedule does not exist.');
    });
    return s;
  }

  /** Every schedule whose next run falls in the window, of content the user may see. */
  async upcoming(user: User, window: { start: Date; end: Date }): Promise<{ schedule: Schedule; of: VariantOf }[]> {
    const out: { schedule: Schedule; of: VariantOf }[] = [];
    for (const s of await this.schedules.list(window)) {
      const of = await this.variants.visible(user, s.variantId).catch(() => undefined);
      if (of) out.push({ schedule: s, of });
    }
    return out;
  }

  /**
   * Every schedule the user may see with its runs over the next `days` from the service's
   * clock, at most `maxRuns` each, by the rule arithmetic the scheduler itself uses.
   */
  async calendar(user: User, days: number, maxRuns: number): Promise<{ window: { start: Date; end: Date }; schedules: ScheduleRuns[] }> {
    const start = this.clock();
    const window = { start, end: new Date(start.getTime() + days * 86_400_000) };
    const out: ScheduleRuns[] = [];
    for (const schedule of await this.schedules.list()) {
      const of = await this.variants.visible(user, schedule.variantId).catch(() => undefined);
      if (!of) continue;
      const rule = ruleOf(schedule);
      let runs: Date[] = [];
      let broken = !rule;
      try {
        if (rule) runs = runsBetween(rule, schedule.startTime, schedule.timezone, window, maxRuns + 1);
      } catch {
        broken = true;
      }
      out.push({ schedule, of, runs: runs.slice(0, maxRuns), more: runs.length > maxRuns, broken });
    }
    return { window, schedules: out };
  }

  async create(actor: Actor, user: User, input: ScheduleInput): Promise<Schedule> {
    const of = await this.target(user, input);
    if (await this.schedules.forVariant(of.variant.id)) throw AppError.conflict('This variant already has a schedule; update it instead.', DUPLICATE_SCHEDULE);
    const fields = this.fields(input);
    try {
      const s = await this.schedules.create(of.content.id, of.variant.id, fields);
      await this.audit.record(actor, 'schedule.create', { type: 'schedule', id: String(s.id) }, this.details(of, s));
      return s;
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict('This variant already has a schedule; update it instead.', DUPLICATE_SCHEDULE);
      throw err;
    }
  }

  /** Full replace, as Connect's `POST /schedules/{id}`: the variant cannot change. */
  async replace(actor: Actor, user: User, rawId: unknown, input: ScheduleInput): Promise<Schedule> {
    const existing = await this.find(rawId);
    const of = await this.target(user, input);
    if (of.variant.id !== existing.variantId) throw AppError.badRequest('variant_id: a schedule cannot move to another variant.');
    const s = (await this.schedules.replace(existing.id, this.fields(input)))!;
    await this.audit.record(actor, 'schedule.update', { type: 'schedule', id: String(s.id) }, this.details(of, s));
    return s;
  }

  async remove(actor: Actor, user: User, rawId: unknown): Promise<void> {
    const s = await this.find(rawId);
    const of = await this.variants.manageable(user, s.variantId);
    await this.schedules.delete(s.id);
    await this.audit.record(actor, 'schedule.delete', { type: 'schedule', id: String(s.id) }, { content: of.content.guid, variant: of.variant.key });
  }

  /**
   * Claims the due schedules for `serverId` (ScheduleRepo.claimDue): each moves on to its next
   * run after `now` and yields a queued rendering for that server to run.
   */
  claimDue(now: Date, limit: number, serverId: string, leaseUntil: Date): Promise<Rendering[]> {
    return this.schedules.claimDue({ now, limit, serverId, leaseUntil, following: (s) => followingOrParked(s, now, this.logger) });
  }

  private async find(rawId: unknown): Promise<Schedule> {
    const id = asId(rawId);
    const s = id === undefined ? undefined : await this.schedules.byId(id);
    if (!s) throw AppError.notFound('The requested schedule does not exist.');
    return s;
  }

  private async target(user: User, input: ScheduleInput): Promise<VariantOf> {
    const of = await this.variants.manageable(user, input.variantId);
    if (of.content.id !== input.appId) throw AppError.badRequest('app_id: is not the content of this variant.');
    if (!this.variants.isRendered(of.content)) {
      throw AppError.badRequest(
        `Only rendered content (R Markdown, Jupyter, Quarto) can be scheduled; this is ${of.content.appMode}.`,
        INVALID_APP_FOR_SCHEDULE,
      );
    }
    return of;
  }

  private fields(input: ScheduleInput): ScheduleFields {
    const scheduleJson = typeof input.schedule === 'object' && input.schedule !== null ? JSON.stringify(input.schedule) : input.schedule;
    const parsed = parseScheduleRule(input.type, scheduleJson);
    if (!parsed.ok) throw AppError.badRequest(parsed.message, INVALID_SCHEDULE);
    const timezone = input.timezone ?? 'UTC';
    if (!isValidTimeZone(timezone))
      throw AppError.badRequest(`timezone: "${timezone}" is not a time zone this server knows (see GET /__api__/v1/timezones).`, INVALID_SCHEDULE);
    const now = this.clock();
    const startTime = input.startTime === undefined ? new Date(Math.floor(now.getTime() / 1000) * 1000) : new Date(input.startTime);
    if (Number.isNaN(startTime.getTime()) || startTime.getUTCFullYear() < 1970 || startTime.getUTCFullYear() > 9999) {
      throw AppError.badRequest('start_time: must be an RFC 3339 time such as 2026-01-01T09:00:00Z.', INVALID_START_TIME);
    }
    return {
      type: parsed.rule.type,
      schedule: scheduleJson as string,
      startTime,
      timezone,
      // Connect deprecated `activate` (2026) and clients now omit it: absent means true.
      activate: input.activate ?? true,
      email: input.email ?? false,
      nextRun: nextRun(parsed.rule, startTime, timezone, now),
    };
  }

  private details(of: VariantOf, s: Schedule) {
    return { content: of.content.guid, variant: of.variant.key, type: s.type, schedule: s.schedule, timezone: s.timezone, email: s.email };
  }
}
