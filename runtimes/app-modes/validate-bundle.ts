import { canonicalAppMode, deployableAppModes, isKnownAppMode } from '../../src/domain/app-modes.ts';
import { AppError, ErrorCode } from '../../src/domain/errors.ts';
import type { Manifest } from '../../src/domain/manifest.ts';
import { BundleFiles } from './bundle-files.ts';
import { checkFor } from './index.ts';

export interface BundleCheck {
  /** Canonical mode name (`jupyter` and `quarto` resolved to their `-static` modes). */
  appMode: string;
  /** The file the mode starts from, or null when the mode has none (multi-notebook Voila). */
  primaryFile: string | null;
}

/**
 * Checks that a bundle can be run as the mode its manifest declares: the mode is one this
 * server knows, and that mode's own check (its file in app-modes/) accepts the bundle. Pure:
 * looks only at the manifest and the list of extracted files.
 */
export function validateBundle(manifest: Manifest, files: readonly string[]): BundleCheck {
  const declared = manifest.metadata.appmode;
  if (!isKnownAppMode(declared)) {
    throw AppError.badRequest(
      `appmode ${JSON.stringify(declared)} is not supported; supported modes: ${deployableAppModes().join(', ')}`,
      ErrorCode.invalidParameter,
    );
  }
  const mode = canonicalAppMode(declared);
  const check = checkFor(mode);
  if (!check) throw new Error(`validateBundle: no rule for appmode ${mode}`);
  return { appMode: mode, primaryFile: check.validate(new BundleFiles(mode, manifest, files)) };
}
