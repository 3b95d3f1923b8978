import { Router } from 'express';
import type { ProcessList } from '../../metrics/process-list.ts';
import { baseUrl } from '../base-url.ts';
import { requireRole } from '../middleware/require-role.ts';

/**
 * `GET /metrics/procs` (connect-api-next.md §9.8, connectapi `get_procs`): this server's
 * running content processes keyed by PID, `{}` when none runs. Administrators only, as in
 * Connect: it names every item that runs, whoever may see it.
 */
export function metricsProcsRoutes(processes: ProcessList, publicUrl: string | undefined): Router {
  const r = Router();
  r.get('/metrics/procs', requireRole('administrator'), async (req, res) => {
    res.json(await processes.list(baseUrl(req, publicUrl)));
  });
  return r;
}
