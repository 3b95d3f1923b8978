import type { BundleFiles } from './bundle-files.ts';

/** `a.b` → `a/b.py`, `a/b/__init__.py`. */
function moduleCandidates(module: string): string[] {
  const base = module.split('.').join('/');
  return [`${base}.py`, `${base}/__init__.py`];
}

/**
 * The file behind a `module[:object]` entrypoint (the object defaults to `app` at run time).
 * A path to an existing file is accepted too, since people do write `app.py` there.
 */
export function pythonModuleFile(entrypoint: string, bundle: BundleFiles): string | null {
  const module = entrypoint.split(':')[0] ?? '';
  if (module === '') return null;
  if (bundle.has(module)) return module;
  return moduleCandidates(module).find((c) => bundle.has(c)) ?? null;
}

/** The check of the modes that import their app (`module[:object]`, module `app` by default). */
export function validatePythonModule(bundle: BundleFiles): string {
  const entry = bundle.given('entrypoint') ?? 'app';
  const found = pythonModuleFile(entry, bundle);
  if (!found) {
    const module = entry.split(':')[0] ?? entry;
    throw bundle.missing(`has no module ${JSON.stringify(module)} (entrypoint ${JSON.stringify(entry)}); expected ${moduleCandidates(module).join(' or ')}`);
  }
  return found;
}
