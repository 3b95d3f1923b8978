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
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts, bufferedStdout());
}

// How long a line may wait in the buffer.
const FLUSH_EVERY_MS = 500;

/**
 * Standard output, written in batches: one write per few kilobytes or half a second, rather
 * than a write for every line (the proxy logs every request it relays). What is buffered is
 * written when the process exits, however it exits.
 */
function bufferedStdout(): pino.DestinationStream {
  const out = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => out.flush(), FLUSH_EVERY_MS).unref();
  process.once('exit', () => {
    try {
      out.flushSync();
    } catch {
      // Nothing is left to write to.
    }
  });
  return out;
}
