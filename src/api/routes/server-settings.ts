import { Router } from 'express';

/**
 * The Connect version Lectern reports. Clients switch behaviour on it (connect-api.md §5.3):
 * from 2025.06.0 rsconnect-python builds a draft (`activate: false`), checks it at
 * `/content/{guid}/_bundle{id}/`, then activates it, which Lectern supports. Above 2025.11.0
 * it would send git metadata as multipart, which Lectern also accepts, but staying at or below
 * it keeps the plain upload the default for every client version.
 */
const ADVERTISED_CONNECT_VERSION = '2025.09.0';

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
