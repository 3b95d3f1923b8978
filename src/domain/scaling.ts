import type { ContentSettings } from './content.ts';
import { AppError } from './errors.ts';

/** The server's scheduler settings (config `scaling`): defaults for null fields, and ceilings. */
export interface ScalingPolicy {
  maxProcesses: number;
  minProcesses: number;
  maxConnsPerProcess: number;
  loadFactor: number;
  idleTimeoutSeconds: number;
  maxProcessesLimit: number;
  minProcessesLimit: number;
}

/** What one content item runs with: its own settings, else the server's, within the ceilings. */
export interface Scaling {
  minProcesses: number;
  maxProcesses: number;
  maxConnsPerProcess: number;
  loadFactor: number;
  idleTimeoutMs: number;
}

type ScalingFields = Pick<ContentSettings, 'min_processes' | 'max_processes' | 'max_conns_per_process' | 'load_factor' | 'idle_timeout'>;

export function effectiveScaling(c: ScalingFields, p: ScalingPolicy): Scaling {
  // The ceilings apply to what is stored too: an administrator may lower them later.
  const max = Math.max(1, Math.min(p.maxProcessesLimit, c.max_processes ?? p.maxProcesses));
  return {
    maxProcesses: max,
    minProcesses: Math.min(max, p.minProcessesLimit, c.min_processes ?? p.minProcesses),
    maxConnsPerProcess: Math.max(1, c.max_conns_per_process ?? p.maxConnsPerProcess),
    loadFactor: Math.min(1, Math.max(0, c.load_factor ?? p.loadFactor)),
    idleTimeoutMs: (c.idle_timeout ?? p.idleTimeoutSeconds) * 1000,
  };
}

/** A publisher's new settings against the server's ceilings; `merged` is the item after the change. */
export function checkScalingRequest(change: Partial<ScalingFields>, merged: Partial<ScalingFields>, p: ScalingPolicy): void {
  if (change.max_processes != null && change.max_processes > p.maxProcessesLimit) {
    throw AppError.badRequest(
      `max_processes may be at most ${p.maxProcessesLimit} on this server (an administrator sets the ceiling: scaling.maxProcessesLimit).`,
    );
  }
  if (change.max_processes === 0) throw AppError.badRequest('max_processes must be at least 1.');
  if (change.min_processes != null && change.min_processes > p.minProcessesLimit) {
    throw AppError.badRequest(
      `min_processes may be at most ${p.minProcessesLimit} on this server (an administrator sets the ceiling: scaling.minProcessesLimit).`,
    );
  }
  if (change.max_conns_per_process === 0) throw AppError.badRequest('max_conns_per_process must be at least 1.');
  if (change.min_processes !== undefined || change.max_processes !== undefined) {
    const min = merged.min_processes ?? p.minProcesses;
    const max = merged.max_processes ?? p.maxProcesses;
    if (min > max) throw AppError.badRequest(`min_processes (${min}) may not exceed max_processes (${max}).`);
  }
}
