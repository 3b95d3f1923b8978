import type { RunSettings } from '../src/domain/deploy.ts';
import { KeyedShare } from '../src/domain/keyed-lock.ts';
import type { Manifest } from '../src/domain/manifest.ts';
import type { AppModeRecipe } from './app-modes/recipe.ts';
import type { BundleRun } from './recipe-book.ts';
import type { Prepared, RuntimeBackend } from './backend.ts';

export interface ManagedDefaults {
  pythonManaged: boolean;
  rManaged: boolean;
}

/**
 * Each bundle's prepared environment (restored packages, or its image), made once and shared
 * by its instances and renders; a failed preparation is forgotten so the next start retries.
 */
export class PreparedEnvironments {
  private readonly prepared = new KeyedShare<string, Prepared>({ keepResults: true });
  // The environment directory each prepared bundle runs from, once prepared (for forgetUsing).
  private readonly dirs = new Map<string, string>();

  constructor(
    private readonly backend: RuntimeBackend,
    private readonly defaults: ManagedDefaults,
  ) {}

  /** Environment management: the bundle's say, else the content's, else the server's. */
  private managed(r: AppModeRecipe, manifest: Manifest, s: RunSettings): boolean {
    const lang = r.language === 'python' ? 'python' : 'r';
    const fromBundle = manifest.environment?.environment_management?.[lang];
    if (typeof fromBundle === 'boolean') return fromBundle;
    const fromContent = lang === 'python' ? s.pythonEnvironmentManagement : s.rEnvironmentManagement;
    if (typeof fromContent === 'boolean') return fromContent;
    return lang === 'python' ? this.defaults.pythonManaged : this.defaults.rManaged;
  }

  /** The bundle's environment; `log` is the output of the first caller, who prepares it. */
  prepare(req: BundleRun, r: AppModeRecipe, log: (l: string) => void): Promise<Prepared> {
    const id = `${req.contentGuid}/${req.bundleId}`;
    return this.prepared.run(id, async () => {
      const managed = r.language === 'none' ? true : this.managed(r, req.manifest, req.settings);
      const imageName = req.settings.imageName ?? req.manifest.environment?.image ?? null;
      const prepared = await this.backend.prepare({ ...req, language: r.language, managed, imageName, log });
      if (prepared.environment.dir !== null && this.prepared.keys().includes(id)) this.dirs.set(id, prepared.environment.dir);
      return prepared;
    });
  }

  /** Forgets a bundle's environment (null: every bundle of the item): a deploy prepares anew. */
  forget(contentGuid: string, bundleId: number | null): void {
    const ids = bundleId !== null ? [`${contentGuid}/${bundleId}`] : this.prepared.keys().filter((id) => id.startsWith(`${contentGuid}/`));
    for (const id of ids) {
      this.prepared.forget(id);
      this.dirs.delete(id);
    }
  }

  /**
   * Forgets every bundle prepared with an environment in `dirs` (a runtime cache removed them),
   * so its next start prepares anew, and says which they were.
   */
  forgetUsing(dirs: readonly string[]): { contentGuid: string; bundleId: number }[] {
    const gone = new Set(dirs);
    const out: { contentGuid: string; bundleId: number }[] = [];
    for (const [id, dir] of this.dirs) {
      if (!gone.has(dir)) continue;
      const [contentGuid, bundleId] = id.split('/') as [string, string];
      this.forget(contentGuid, Number(bundleId));
      out.push({ contentGuid, bundleId: Number(bundleId) });
    }
    return out;
  }
}
