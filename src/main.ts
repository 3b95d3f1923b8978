import { createAppContext } from './app-context.ts';
import { ConfigError, loadConfig } from './config/index.ts';
import { createLogger } from './logging/logger.ts';
import { buildServer } from './server.ts';
import { createFirstAdmin } from './services/bootstrap.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`lectern: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logging.level);
  const ctx = await createAppContext(config, logger);
  const server = buildServer(ctx);

  const first = await createFirstAdmin(ctx.users, ctx.keys);
  if (first) {
    // Printed once, to the console of whoever started the server; never logged.
    process.stdout.write(
      [
        '',
        '================ Lectern first run ================',
        `An administrator was created.`,
        `  username:            ${first.user.username}`,
        `  one-time password:   ${first.password}   (you choose a new one at first login)`,
        `  API key:             ${first.apiKey}`,
        'These are shown only now. Keep the API key safe.',
        '===================================================',
        '',
      ].join('\n'),
    );
  }

  const port = await server.listen();
  logger.info({ address: config.server.address, port, dataDir: config.dataDir, database: ctx.db.description }, 'Lectern is listening');

  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    server
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`lectern: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
