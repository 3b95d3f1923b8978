import type { Knex } from 'knex';
import * as initial from './20261121-001-initial.ts';

/** Every migration, in order. Never edit one that has landed: add a new one. */
export const migrations: Record<string, Knex.Migration> = {
  '20261121-001-initial': initial,
};
