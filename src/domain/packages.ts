/** Connect's names for the languages a package belongs to. */
export type PackageLanguage = 'R' | 'Python';

/** One package a bundle's environment holds. `hash` is null where nothing records one. */
export interface EnvironmentPackage {
  name: string;
  version: string;
  hash: string | null;
}

/**
 * What a build found in a bundle's environment: the packages the content runs with, for one
 * language. `managed` says whether the environment was restored for the bundle (environment
 * management on) or is the server's installation as it is.
 */
export interface EnvironmentInventory {
  language: PackageLanguage;
  languageVersion: string;
  managed: boolean;
  packages: EnvironmentPackage[];
}

/**
 * Packages recorded per bundle at most: an environment with system site packages can see a
 * few hundred; past this the list says nothing more useful and only costs rows.
 */
export const MAX_RECORDED_PACKAGES = 5000;

/** A package row as the API lists it: the bundle and the item it belongs to. */
export interface RecordedPackage extends EnvironmentPackage {
  language: PackageLanguage;
  languageVersion: string;
  bundleId: number;
  contentId: number;
  contentGuid: string;
}

/** PEP 503's normalized name (`Flask_SQLAlchemy` → `flask-sqlalchemy`): how pip compares names. */
export function normalizedPythonName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}
