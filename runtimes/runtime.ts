import path from 'node:path';
import type { Config } from '../src/config/schema.ts';
import type { ProcessVariables } from '../src/domain/deploy.ts';
import type { RuntimeImage } from '../src/domain/runtime-images.ts';
import type { JobDirectory } from '../src/domain/jobs.ts';
import type { ReportRenderer } from '../src/domain/reports.ts';
import type { RuntimeCaches } from '../src/domain/runtime-caches.ts';
import type { RuntimeBackend } from './backend.ts';
import { ContentRunner, type RunnerOptions } from './content-runner.ts';
import type { RuntimeCacheStore } from './environments/runtime-caches.ts';
import type { Interpreter } from './interpreters.ts';

// The proxy's pool holds instances as the server keeps them (the type is the backend's).

/** The backends the server's settings may name (runtime.backend). */
export type BackendName = Config['runtime']['backend'];

/**
 * What a backend's folder makes from the server's settings: the engine, and what the server
 * shows of it. The engine is recovered and shut down through RuntimeBackend's own methods.
 */
export interface BackendSetup {
  backend: RuntimeBackend;
  jobs: JobDirectory;
  /** What content can run with (`rsconnect details`); in containers, the images' interpreters. */
  interpreters: { python: InstalledInterpreter[]; r: InstalledInterpreter[] };
  /** Connect's execution environments: the runtime images content may pin (none for local processes). */
  runtimeImages(): Promise<RuntimeImage[]>;
  /** For the start-up log line. */
  summary: Record<string, unknown>;
  /** Warnings for the server log (missing interpreters, no sandbox). */
  warnings: string[];
  /** Who owns a render's output: the item's own account (local processes as root), else the server. */
  outputOwner: RunnerOptions['outputOwner'];
  /** The package environments it keeps per language and version (Connect's runtime caches); none if absent. */
  caches?: RuntimeCacheStore;
}

/** One entry of the registry in create-runtime.ts: a backend's folder's factory. */
export type BackendFactory = (config: Config) => Promise<BackendSetup>;

/** What the server holds of its content runtime, whichever backend it is. */
export interface Runtime {
  name: BackendName;
  /** For start-up recovery (recover) only: everything else goes through the runner. */
  backend: RuntimeBackend;
  runner: ContentRunner;
  /** Report renders (scheduled, on demand, of a variant) over the runner's rendering side. */
  reports: ReportRenderer;
  jobs: JobDirectory;
  interpreters: BackendSetup['interpreters'];
  runtimeImages(): Promise<RuntimeImage[]>;
  /** Connect's runtime caches: listed, and removed with what ran from them stopped (runtime-caches.ts). */
  caches: RuntimeCaches;
  summary: Record<string, unknown>;
  warnings: string[];
  /** The backend's shutdown, then the key revocations it caused. */
  close(): Promise<void>;
}

export interface InstalledInterpreter extends Interpreter {
  /** The runtime image it is in (container backends). */
  image?: string;
}

/** The runner over a backend, with the server's defaults. */
export function createRunner(config: Config, backend: RuntimeBackend, processEnv: ProcessVariables, outputOwner: RunnerOptions['outputOwner']): ContentRunner {
  const rc = config.runtime;
  return new ContentRunner(backend, processEnv, {
    rendersDir: path.join(config.dataDir, 'renders'),
    quartoPath: rc.quarto,
    defaults: {
      initTimeoutSeconds: rc.initTimeoutSeconds,
      renderTimeoutSeconds: rc.renderTimeoutSeconds,
      pythonManaged: rc.pythonEnvironmentManagement,
      rManaged: rc.rEnvironmentManagement,
    },
    outputOwner,
  });
}
