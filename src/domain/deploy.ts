import type { ContentSettings } from './content.ts';
import type { Manifest } from './manifest.ts';
import type { EnvironmentInventory } from './packages.ts';

/** What the app-mode registry (runtimes/app-modes) says about an uploaded bundle. */
interface BundleValidation {
  appMode: string;
  primaryFile: string | null;
}

/** Checks a bundle's mode and primary file at upload. Implemented in runtimes/, wired in the root. */
export interface BundleValidator {
  validate(manifest: Manifest, files: readonly string[]): BundleValidation;
}

export interface BuildRequest {
  contentGuid: string;
  bundleId: number;
  appMode: string;
  primaryFile: string | null;
  /** A draft is built and started for preview without becoming what viewers get. */
  draft: boolean;
  settings: RunSettings;
  /** The extracted bundle, read-only to the build. */
  bundleDir: string;
  manifest: Manifest;
  /**
   * For rendered modes: RSC_REPORT_*, SPARK_CONNECT_USER_AGENT, RSTUDIO_PRODUCT or
   * POSIT_PRODUCT, added to the render's variables (any other name fails the build).
   */
  reportEnv?: Record<string, string>;
  /** A line for the deploy log the publisher sees. */
  log(line: string): void;
  /** Told what the bundle's environment holds, once it is restored (not for static content, nor when it could not be listed). */
  environmentFound?(inventory: EnvironmentInventory): void;
}

/** The content settings that shape how it runs (null: the server default). */
export interface RunSettings {
  initTimeoutSeconds: number | null;
  pythonEnvironmentManagement: boolean | null;
  rEnvironmentManagement: boolean | null;
  /** Bytes of memory a process may use (container backends); null: no limit. */
  memoryLimit: number | null;
  /** CPUs a process may use, fractions allowed (container backends); null: no limit. */
  cpuLimit: number | null;
  /** The execution environment (runtime image) the content asks for; null: by its language. */
  imageName: string | null;
}

/** A content item's run settings under Connect's field names, as the runner reads them. */
export function runSettingsOf(c: ContentSettings): RunSettings {
  return {
    initTimeoutSeconds: c.init_timeout,
    pythonEnvironmentManagement: c.default_py_environment_management,
    rEnvironmentManagement: c.default_r_environment_management,
    memoryLimit: c.memory_limit,
    cpuLimit: c.cpu_limit,
    imageName: c.default_image_name,
  };
}

/**
 * What a content process gets from the control plane at start: CONNECT_SERVER,
 * CONNECT_CONTENT_GUID, an API key of the owner valid while it lives, and the content's own
 * variables, decrypted only now. `release` revokes the key when the process ends.
 */
export interface ProcessVariables {
  forContent(contentGuid: string, jobKey: string): Promise<{ env: Record<string, string>; release(): Promise<void> }>;
}

/** A finished render, as a rendering keeps it (src/domain/reports.ts): a deploy's, or a report's. */
export interface ReportRendered {
  jobKey: string;
  /** Relative to the renders directory (what a Rendering keeps). */
  outputPath: string;
  outputFile: string;
  /** The document's output metadata (R Markdown's rmd_output_metadata, Quarto's .output_metadata.json), or null. */
  metadata: unknown;
}

/**
 * Turns an uploaded bundle into something that can be served: restores its environment and,
 * for rendered modes, renders it. Implemented by the runtimes layer. Throws to fail the deploy;
 * the error's message is what the publisher reads. Resolves to the render (the default
 * variant's place) for rendered modes, null for the others.
 */
export interface BundleBuilder {
  build(req: BuildRequest): Promise<ReportRendered | null>;
}

/** Told when what viewers get changes, so running instances can be replaced (the proxy). */
export interface ContentEvents {
  bundleActivated(contentGuid: string, bundleId: number): void;
  contentDeleted(contentGuid: string): void;
  /** A bundle that is not active was deleted: what runs or is kept for it can go. */
  bundleDeleted(contentGuid: string, bundleId: number): void;
  /** The item was locked: its running processes stop (nothing starts them again while it is). */
  contentLocked(contentGuid: string): void;
}

export const NO_CONTENT_EVENTS: ContentEvents = {
  bundleActivated: () => undefined,
  contentDeleted: () => undefined,
  bundleDeleted: () => undefined,
  contentLocked: () => undefined,
};
