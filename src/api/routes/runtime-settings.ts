import { Router } from 'express';
import { requireUser } from '../middleware/require-role.ts';

export interface InstalledRuntimes {
  python: Array<{ version: string; path: string }>;
  r: Array<{ version: string; path: string }>;
}

/** `rsconnect details` reads these: which R and Python versions content can run with. */
export function runtimeSettingsRoutes(installed: InstalledRuntimes): Router {
  const r = Router();
  const answer = (list: Array<{ version: string }>) => ({
    installations: list.map((i) => ({ version: i.version, cluster_name: 'Local', image_name: 'Local' })),
    api_enabled: true,
  });
  r.get('/v1/server_settings/python', requireUser, (_req, res) => void res.json(answer(installed.python)));
  r.get('/v1/server_settings/r', requireUser, (_req, res) => void res.json(answer(installed.r)));
  return r;
}
