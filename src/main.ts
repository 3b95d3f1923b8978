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
  const port = await server.listen();
  if (first) {
    // Printed once, to the console of whoever started the server; never logged.
    const { address } = config.server;
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
    const url = (config.server.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, '');
    process.stdout.write(
      [
        '',
        '================ Lectern first run ================',
        `An administrator was created.`,
        `  username:            ${first.user.username}`,
        `  one-time password:   ${first.password}   (you choose a new one at first login)`,
        `  API key:             ${first.apiKey}`,
        `  API key id:          ${first.apiKeyId}`,
        'These are shown only now. Keep the API key safe.',
        'It is a full administrator key: revoke it once you have made your own,',
        `on the home page (${url}/) or with the API:`,
        `  curl -X DELETE -H "Authorization: Key <the key>" ${url}/__api__/v1/user/api_keys/${first.apiKeyId}`,
        '===================================================',
        '',
      ].join('\n'),
    );
  }
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
