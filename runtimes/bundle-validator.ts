import type { AppModeKinds } from '../src/domain/app-modes.ts';
import type { BundleValidator } from '../src/domain/deploy.ts';
import { kindOf } from './app-modes/index.ts';
import { validateBundle } from './app-modes/validate-bundle.ts';

/** The app-mode registry as the control plane sees it: upload checks and each mode's kind. */
export function createBundleValidator(): BundleValidator & AppModeKinds {
  return { validate: validateBundle, kindOf };
}
