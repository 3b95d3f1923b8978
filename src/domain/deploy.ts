import type { Manifest } from './manifest.ts';

/** What the app-mode registry (runtimes/app-modes) says about an uploaded bundle. */
export interface BundleValidation {
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
  /** The extracted bundle, read-only to the build. */
  bundleDir: string;
  manifest: Manifest;
  /** A line for the deploy log the publisher sees. */
  log(line: string): void;
}

/**
 * Turns an uploaded bundle into something that can be served: restores its environment and,
 * for rendered modes, renders it. Implemented by the runtimes layer. Throws to fail the deploy;
 * the error's message is what the publisher reads.
 */
export interface BundleBuilder {
  build(req: BuildRequest): Promise<void>;
}

/** Told when what viewers get changes, so running instances can be replaced (the proxy). */
export interface ContentEvents {
  bundleActivated(contentGuid: string, bundleId: number): void;
  contentDeleted(contentGuid: string): void;
}

export const NO_CONTENT_EVENTS: ContentEvents = {
  bundleActivated: () => undefined,
  contentDeleted: () => undefined,
};
