import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

// Credentials must never reach a log line, whichever header or field carries them.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-rsc-authorization"]',
  'req.headers["x-auth-token"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'password',
  'apiKey',
  'secret',
];

/** The root logger: the one module-level object the architecture allows. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'lectern' },
  };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}
