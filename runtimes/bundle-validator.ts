import type { BundleValidator } from '../src/domain/deploy.ts';
import { validateBundle } from './app-modes/validate-bundle.ts';

export function createBundleValidator(): BundleValidator {
  return { validate: validateBundle };
}
