import { MAX_RECORDED_PACKAGES, type EnvironmentInventory, type EnvironmentPackage } from '../../src/domain/packages.ts';
import { countedRequirements, type InstalledRPackage, type RLibraryState, type RPackageRequirement } from './r-packages.ts';

/**
 * What R content runs with, as a user reads "this content's packages": each package the
 * manifest lists (the R clients record the bundle's whole dependency tree) at the version R
 * loads, the first copy on the library path (the environment's own library comes first), and
 * every package of the environment's own library (installed for this content). Not the rest
 * of the server's library: it holds whatever the administrator installed, which this content
 * never loads, so listing it would say nothing about the content. R's base packages are left
 * out, as part of R itself; a listed package that R cannot find is left out too (with
 * management off it is missing, and the deploy log said so).
 */
export function rInventory(
  reqs: readonly RPackageRequirement[],
  state: RLibraryState,
  envLib: string | null,
  version: string,
  managed: boolean,
): EnvironmentInventory {
  const first = new Map<string, InstalledRPackage>();
  for (const p of state.packages) if (!first.has(p.name)) first.set(p.name, p);
  const held = new Map<string, EnvironmentPackage>();
  const add = (p: InstalledRPackage) => {
    if (p.priority !== 'base' && !held.has(p.name)) held.set(p.name, { name: p.name, version: p.version, hash: null });
  };
  for (const r of countedRequirements(reqs)) {
    const p = first.get(r.name);
    if (p) add(p);
  }
  if (envLib) for (const p of state.packages) if (p.libPath === envLib && first.get(p.name) === p) add(p);
  const packages = [...held.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).slice(0, MAX_RECORDED_PACKAGES);
  return { language: 'R', languageVersion: version, managed, packages };
}
