import type { Task } from '../../domain/content.ts';
import type { Rendering, Schedule, Variant } from '../../domain/reports.ts';
import { iso } from './iso.ts';

/** Connect's Variant (connect-api-next.md §3.1); ids are integers. */
export function variantJson(v: Variant, current: Rendering | undefined, contentBundleId: number | null) {
  return {
    id: v.id,
    app_id: v.contentId,
    key: v.key,
    bundle_id: current?.bundleId ?? contentBundleId,
    is_default: v.isDefault,
    name: v.name,
    email_collaborators: v.emailCollaborators,
    email_viewers: v.emailViewers,
    email_all: v.emailAll,
    created_time: iso(v.createdTime),
    rendering_id: v.renderingId,
    render_time: iso(current?.renderTime),
    render_duration: current?.renderDurationNs ?? 0,
    visibility: v.visibility,
    owner_id: v.ownerId ?? 0,
    // Lectern's: the saved parameter values of a saved variant.
    parameters: v.params,
  };
}

/** Connect's Rendering (§3.5), with Lectern's status, trigger and error beside it. */
export function renderingJson(r: Rendering, activeId: number | null) {
  return {
    id: r.id,
    app_id: r.contentId,
    variant_id: r.variantId,
    bundle_id: r.bundleId,
    job_key: r.jobKey ?? '',
    render_time: iso(r.renderTime),
    render_duration: r.renderDurationNs ?? 0,
    active: r.id === activeId,
    status: r.status,
    trigger: r.trigger,
    due_time: iso(r.dueTime),
    attempt: r.attempt,
    error: r.error,
  };
}

/** Connect's Schedule (§3.6): `schedule` stays a string holding JSON, times in whole seconds. */
export function scheduleJson(s: Schedule) {
  return {
    id: s.id,
    app_id: s.contentId,
    variant_id: s.variantId,
    type: s.type,
    schedule: s.schedule,
    start_time: iso(s.startTime),
    next_run: iso(s.nextRun),
    timezone: s.timezone,
    activate: s.activate,
    email: s.email,
  };
}

/** A render task as both task shapes the clients read (legacy and v1, §3.4). */
export function renderTaskJson(t: Task) {
  return {
    id: t.id,
    user_id: t.userId ?? 0,
    status: [],
    output: [],
    result: null,
    finished: t.finished,
    code: t.code,
    error: t.error,
    last_status: 0,
    last: 0,
  };
}
