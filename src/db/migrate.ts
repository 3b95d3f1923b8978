import type { Knex } from 'knex';
import { migrations } from '../../migrations/index.ts';

// Migrations are listed in code rather than discovered on disk, so they load the same way
// under tsx, vitest and any bundler, and a missing file is a type error, not a runtime surprise.
const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const m = migrations[name];
    if (!m) throw new Error(`unknown migration ${name}`);
    return m;
  },
};

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

export async function migrateRollbackAll(knex: Knex): Promise<void> {
  await knex.migrate.rollback({ migrationSource: source }, true);
}

export async function appliedMigrations(knex: Knex): Promise<string[]> {
  const [done] = (await knex.migrate.list({ migrationSource: source })) as [Array<{ name: string } | string>, unknown];
  return done.map((m) => (typeof m === 'string' ? m : m.name));
}

/** The migrations this code carries, in order. */
export function knownMigrations(): string[] {
  return Object.keys(migrations);
}

/**
 * The migrations a database records as applied, read from knex's table as they are: unlike
 * `appliedMigrations`, a name this code does not carry (a newer server's) is listed, not an
 * error, and nothing is created. Empty when the database was never migrated.
 */
export async function recordedMigrations(knex: Knex): Promise<string[]> {
  if (!(await knex.schema.hasTable('knex_migrations'))) return [];
  const rows = (await knex('knex_migrations').select('name').orderBy('id')) as Array<{ name: string }>;
  return rows.map((r) => r.name);
}

/** Where a database's schema stands against this code's migrations. */
export interface SchemaState {
  applied: string[];
  /** This code's migrations the database has not had yet, in order. */
  pending: string[];
  /** Migrations the database had that this code does not know: it is newer than the code. */
  unknown: string[];
}

export async function schemaState(knex: Knex): Promise<SchemaState> {
  const known = knownMigrations();
  const applied = await recordedMigrations(knex);
  const done = new Set(applied);
  const ours = new Set(known);
  return { applied, pending: known.filter((m) => !done.has(m)), unknown: applied.filter((m) => !ours.has(m)) };
}

/** Raised before anything is written when the database's schema is newer than this code. */
export class SchemaTooNew extends Error {
  constructor(readonly unknown: string[]) {
    super(
      `The database's schema is newer than this Lectern: it has migrations this version does not know (${unknown.join(', ')}). ` +
        'Run the Lectern version that migrated it (or newer), or restore a backup taken before the upgrade. Migrations only go forward.',
    );
  }
}

/** Applies what is pending, after refusing a schema newer than the code. */
export async function migrateForward(knex: Knex): Promise<string[]> {
  const state = await schemaState(knex);
  if (state.unknown.length) throw new SchemaTooNew(state.unknown);
  return migrateLatest(knex);
}
