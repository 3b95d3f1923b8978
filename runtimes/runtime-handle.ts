import path from 'node:path';
import type { Config } from '../src/config/schema.ts';
import type { ProcessEnvironment } from '../src/domain/deploy.ts';
import type { JobDirectory } from '../src/domain/jobs.ts';
import { ContentRunner, type RunnerOptions } from './content-runner.ts';
import type { ExecutionEnvironment } from '../src/domain/environments.ts';
import type { Interpreter } from './interpreters.ts';
import type { RuntimeBackend } from './runtime.ts';

/** What the server holds of its content runtime, whichever backend it is. */
export interface Runtime {
  backend: 'local' | 'docker' | 'swarm';
  runner: ContentRunner;
  jobs: JobDirectory;
  /** What content can run with (`rsconnect details`); in containers, the images' interpreters. */
  interpreters: { python: InstalledInterpreter[]; r: InstalledInterpreter[] };
  /** Connect's execution environments: the runtime images content may pin (none for local processes). */
  environments(): Promise<ExecutionEnvironment[]>;
  /** For the start-up log line. */
  summary: Record<string, unknown>;
  /** Warnings for the server log (missing interpreters, no sandbox). */
  warnings: string[];
  /** Instances kept running across a restart (containers): their process keys must stay valid. */
  adoptedKeys: string[];
  /** Hands the adopted instances to the runner; `revoke` ends a process key when its instance stops. */
  adopt?(revoke: (jobKey: string) => Promise<void>): void;
  close(): Promise<void>;
}

export interface InstalledInterpreter extends Interpreter {
  /** The runtime image it is in (container backends). */
  image?: string;
}

/** Whether a bundle a container was left running for is still wanted (its content and bundle exist). */
export type Keep = (contentGuid: string, bundleId: number) => Promise<boolean>;

/** The runner over a backend, with the server's defaults. */
export function createRunner(config: Config, backend: RuntimeBackend, processEnv: ProcessEnvironment, outputOwner: RunnerOptions['outputOwner']): ContentRunner {
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

