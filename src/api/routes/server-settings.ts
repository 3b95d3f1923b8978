import { Router } from 'express';
import { ADVERTISED_CONNECT_VERSION } from '../../domain/connect-version.ts';

export interface ServerSettingsInfo {
  hostname: string;
  lecternVersion: string;
}

// Anonymous on purpose: rsconnect R 1.x `addServer()` calls it without credentials.
export function serverSettingsRoutes(info: ServerSettingsInfo): Router {
  const r = Router();
  r.get('/server_settings', (_req, res) => {
    res.json({
      version: ADVERTISED_CONNECT_VERSION,
      build: `lectern-${info.lecternVersion}`,
      about: `Lectern ${info.lecternVersion}, a Posit Connect compatible publishing server`,
      hostname: info.hostname,
      authentication: { handles_credentials: true, handles_login: true, name: 'password', notice: '' },
      license: {
        'allow-apis': true,
        'anonymous-servers': true,
        'current-user-execution': false,
        expiration: 0,
        'r-support': true,
        'python-support': true,
        'quarto-support': true,
      },
      runtimes: ['R', 'Python', 'Quarto'],
      api_enabled: true,
    });
  });
  return r;
}
