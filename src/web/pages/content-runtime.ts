import { actorOf } from '../../http/actor.ts';
import type { Request } from 'express';
import type { Content, ContentSettings } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import type { SettingsSection } from './content-section.ts';
import type { PageDeps } from './page.ts';

type NumericSetting =
  | 'min_processes'
  | 'max_processes'
  | 'max_conns_per_process'
  | 'load_factor'
  | 'init_timeout'
  | 'idle_timeout'
  | 'connection_timeout'
  | 'read_timeout'
  | 'cpu_limit';

/** The Runtime section's fields: the API's names, the page's words, and the bounds the API takes. */
const RUNTIME_FIELDS: ReadonlyArray<{ key: NumericSetting; label: string; min: number; max: number; step: number }> = [
  { key: 'min_processes', label: 'Minimum processes', min: 0, max: 10_000, step: 1 },
  { key: 'max_processes', label: 'Maximum processes', min: 0, max: 10_000, step: 1 },
  { key: 'max_conns_per_process', label: 'Connections per process', min: 0, max: 10_000, step: 1 },
  { key: 'load_factor', label: 'Load factor (0 to 1)', min: 0, max: 1, step: 0.05 },
  { key: 'init_timeout', label: 'Start-up timeout (seconds)', min: 0, max: 365 * 24 * 3600, step: 1 },
  { key: 'idle_timeout', label: 'Idle timeout (seconds)', min: 0, max: 365 * 24 * 3600, step: 1 },
  { key: 'connection_timeout', label: 'Connection timeout (seconds)', min: 0, max: 365 * 24 * 3600, step: 1 },
  { key: 'read_timeout', label: 'Read timeout (seconds)', min: 0, max: 365 * 24 * 3600, step: 1 },
  { key: 'cpu_limit', label: 'CPU limit (cores)', min: 0, max: 1024, step: 0.1 },
];
const MB = 1024 * 1024;

/** Whether the item runs as processes (the Runtime section applies), not files or renders. */
function runsProcesses(d: PageDeps, c: Content): boolean {
  return c.appMode !== 'unknown' && c.appMode !== 'static' && !d.reports.variants.isRendered(c);
}

/**
 * `POST /apps/{guid}/runtime`: an empty field means the server's default (null, as in the API);
 * a number out of the API's bounds is refused; the ContentService checks the server's ceilings
 * and who may change it.
 */
function runtimeActions(d: PageDeps): Record<string, (req: Request) => Promise<void>> {
  return {
    runtime: async (req) => {
      const body = req.body as Record<string, unknown>;
      const changes: Partial<ContentSettings> = {};
      for (const f of RUNTIME_FIELDS) {
        const raw = typeof body[f.key] === 'string' ? (body[f.key] as string).trim() : '';
        if (raw === '') {
          changes[f.key] = null;
          continue;
        }
        const n = Number(raw);
        if (!Number.isFinite(n) || n < f.min || n > f.max || (f.step === 1 && !Number.isInteger(n)))
          throw AppError.badRequest(
            `${f.label}: give ${f.step === 1 ? 'a whole number' : 'a number'} from ${f.min} to ${f.max}, or leave it empty for the server's default.`,
          );
        changes[f.key] = n;
      }
      const memory = typeof body.memory_limit_mb === 'string' ? body.memory_limit_mb.trim() : '';
      if (memory !== '') {
        const n = Number(memory);
        if (!Number.isInteger(n) || n < 1 || n > 1024 * 1024) throw AppError.badRequest('Memory limit: give whole megabytes, or leave it empty for no limit.');
        changes.memory_limit = n * MB;
      } else changes.memory_limit = null;
      const c = await d.content.manageable(req.user!, String(req.params.guid));
      await d.content.update(actorOf(req, 'web'), req.user!, c, changes);
    },
  };
}

export const runtimeSection: SettingsSection = {
  tab: 'runtime',
  label: 'Runtime',
  applies: runsProcesses,
  load: async () => ({ runtime: { fields: RUNTIME_FIELDS } }),
  actions: runtimeActions,
};
