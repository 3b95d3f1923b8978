import type { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { openDatabase } from '../db/connect.ts';
import { migrateForward, schemaState, SchemaTooNew } from '../db/migrate.ts';

/**
 * `lectern migrate [--dry-run]`: the schema changes an upgrade brings, listed or applied before
 * the new version's server starts (which would apply them itself). Opens the database alone:
 * nothing else of the server's start-up runs.
 */
export function addMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Apply the database migrations this version brings (the server also does at start). Forward only.')
    .option('--dry-run', 'list the migrations that would run, and change nothing')
    .action(async (o: { dryRun?: boolean }) => {
      const config = loadConfig();
      const db = openDatabase(config);
      try {
        const state = await schemaState(db.knex);
        if (state.unknown.length) throw new SchemaTooNew(state.unknown);
        process.stdout.write(`database: ${db.description}; ${state.applied.length} migrations applied\n`);
        if (state.pending.length === 0) {
          process.stdout.write('the schema is current: nothing to run\n');
          return;
        }
        if (o.dryRun) {
          process.stdout.write(`would run ${state.pending.length}:\n${state.pending.map((m) => `  ${m}\n`).join('')}`);
          return;
        }
        const applied = await migrateForward(db.knex);
        process.stdout.write(`ran ${applied.length}:\n${applied.map((m) => `  ${m}\n`).join('')}`);
      } finally {
        await db.knex.destroy();
      }
    });
}
