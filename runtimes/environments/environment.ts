import type { Manifest } from '../../src/domain/manifest.ts';
import type { EnvironmentInventory } from '../../src/domain/packages.ts';
import type { Interpreter } from '../interpreters.ts';

export interface RestoreRequest {
  interpreter: Interpreter;
  /** The extracted bundle (read it, never write it). */
  bundleDir: string;
  manifest: Manifest;
  /**
   * Environment management: on, restore into an environment of its own; off, run with the
   * interpreter's packages as they are (Connect's per-content switch).
   */
  managed: boolean;
  /** One line of the deploy log the publisher reads. */
  log(line: string): void;
  /** The content item's own account, when the runtime runs each item as one: installers run as it. */
  account?: { uid: number; gid: number } | undefined;
}

/** What a process needs to run inside a restored environment. */
export interface RestoredEnvironment {
  /** The cache key: a hash of interpreter and requirements; '' when unmanaged. */
  key: string;
  /** The environment's directory (a venv, an R library), or null when unmanaged. */
  dir: string | null;
  /** True when a cached environment was reused and nothing was installed. */
  reused: boolean;
  /** The program that runs code in this environment: the venv's python, or R. */
  executable: string;
  /** Variables to add for processes (VIRTUAL_ENV, R_LIBS, PATH prefix as PATH_PREPEND). */
  env: Record<string, string>;
  /** The packages the content runs with, as listed once restored; null when they could not be listed. */
  inventory?: EnvironmentInventory | null;
}

/**
 * Restores a bundle's environment, cached by key, so a redeploy with the same dependencies
 * installs nothing. Throws an Error whose message lists exactly what is missing and how to fix
 * it when the environment cannot be had (offline, an unsatisfiable pin). Safe to call
 * concurrently for the same key: one builds, the others wait for it.
 */
export interface EnvironmentRestorer {
  restore(req: RestoreRequest): Promise<RestoredEnvironment>;
}
