import { Router } from 'express';

/** Liveness for clients (`/__ping__`, connectapi's probe) and readiness for load balancers. */
export function healthRoutes(checkDatabase: () => Promise<boolean>, version: string): Router {
  const r = Router();
  r.get('/__ping__', (_req, res) => void res.json({}));
  r.get('/__health__', async (_req, res) => {
    const database = await checkDatabase();
    res.status(database ? 200 : 503).json({ status: database ? 'ok' : 'unavailable', database: database ? 'ok' : 'unreachable', version });
  });
  return r;
}
