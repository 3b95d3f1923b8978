import { AppError } from '../domain/errors.ts';
import type { EnvironmentPackage, PackageLanguage, RecordedPackage } from '../domain/packages.ts';
import type { User } from '../domain/user.ts';
import type { BundlePackageRepo } from '../repositories/bundle-package-repo.ts';
import type { AccessPolicy } from './access-policy.ts';
import type { ContentService } from './content-service.ts';

export interface PackagePageQuery {
  name?: string;
  pageNumber: number;
  pageSize: number;
  ascending: boolean;
}

// pip's own tools: present in every venv, never what content depends on (pip freeze leaves them out too).
const INSTALLER_TOOLS = new Set(['pip', 'setuptools', 'wheel', 'distribute']);

/**
 * What content runs with, as its builds recorded it. Read by whoever may see the item, as
 * Connect lists packages for the content a user can see: a package list says no more than the
 * bundle's manifest, which its viewers cannot download but which names the same things.
 * Only each item's active bundle counts: that is what runs.
 */
export class PackageService {
  constructor(
    private readonly packages: BundlePackageRepo,
    private readonly content: ContentService,
    private readonly access: AccessPolicy,
  ) {}

  /** The packages of the active bundles of every item the user may see (`GET /v1/packages`). */
  async page(user: User, q: PackagePageQuery): Promise<{ rows: RecordedPackage[]; total: number }> {
    const scope = this.access.listingScope(user);
    if (scope.kind === 'nothing') return { rows: [], total: 0 };
    return this.packages.page({
      ...(q.name !== undefined ? { name: q.name } : {}),
      ...(scope.kind === 'granted' ? { visibleTo: scope.userId } : {}),
      ascending: q.ascending,
      offset: (q.pageNumber - 1) * q.pageSize,
      limit: q.pageSize,
    });
  }

  /** An item's packages by language then name; null when it has no active bundle (204). */
  async ofContent(user: User, guid: string): Promise<(EnvironmentPackage & { language: PackageLanguage })[] | null> {
    const c = await this.content.visible(user, guid);
    if (c.bundleId === null) return null;
    return this.packages.forBundle(c.bundleId);
  }

  /**
   * The active bundle's Python environment pinned as a requirements file (`name==version`, by
   * name), for content whose environment Lectern restored: every distribution it can import,
   * the system site packages included (the venv sees them, and a lock without them would not
   * reproduce what runs), less pip's own tools.
   */
  async lockfile(user: User, guid: string): Promise<{ pythonVersion: string; text: string }> {
    const c = await this.content.visible(user, guid);
    const python = c.bundleId === null ? null : await this.packages.ofLanguage(c.bundleId, 'Python');
    if (!python?.managed)
      throw AppError.notFound('This content has no Python environment managed by the server: deploy it with Python environment management on.');
    const lines = python.packages.filter((p) => !INSTALLER_TOOLS.has(p.name.toLowerCase())).map((p) => `${p.name}==${p.version}`);
    return { pythonVersion: python.languageVersion, text: lines.join('\n') + '\n' };
  }
}
