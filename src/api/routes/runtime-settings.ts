import { Router } from 'express';
import { requireUser } from '../middleware/require-role.ts';

type Installed = { version: string; path: string; image?: string };

export interface InstalledRuntimes {
  python: Installed[];
  r: Installed[];
}

/** `rsconnect details` reads these: which R and Python versions content can run with. */
export function runtimeSettingsRoutes(installed: InstalledRuntimes): Router {
  const r = Router();
  const answer = (list: Installed[]) => ({
    // In containers, each version is in a runtime image: the name content can pin.
    installations: list.map((i) => ({ version: i.version, cluster_name: i.image ? 'Docker' : 'Local', image_name: i.image ?? 'Local' })),
    api_enabled: true,
  });
  r.get('/v1/server_settings/python', requireUser, (_req, res) => void res.json(answer(installed.python)));
  r.get('/v1/server_settings/r', requireUser, (_req, res) => void res.json(answer(installed.r)));
  return r;
}
