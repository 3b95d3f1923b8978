import { createHash } from 'node:crypto';
import type { Manifest } from '../../src/domain/manifest.ts';
import type { Interpreter } from '../interpreters.ts';

/** One entry of the manifest's `packages` map. */
export interface RPackageRequirement {
  name: string;
  /** `description.Version`; null when the client recorded none (any version will do). */
  version: string | null;
  /** `Source`: CRAN, Bioconductor, github, or a repository's name. */
  source: string | null;
  /** `Repository`: often null (the client could not reach its repositories). */
  repository: string | null;
  /** `description.Priority`: base and recommended packages ship with R. */
  priority: string | null;
}

/** A package R can see, from one library. */
export interface InstalledRPackage {
  name: string;
  version: string;
  /** `base`, `recommended` or ''. */
  priority: string;
  libPath: string;
}

/** What one R process reported about its libraries. */
export interface RLibraryState {
  rVersion: string;
  /** `.libPaths()`, first searched first. */
  libPaths: string[];
  /** Every copy, in `.libPaths()` order: the first copy of a name is the one R loads. */
  packages: InstalledRPackage[];
}

/** The packages of R's own `base` priority: part of R itself, never installed separately. */
const BASE_R_PACKAGES: ReadonlySet<string> = new Set([
  'base',
  'compiler',
  'datasets',
  'graphics',
  'grDevices',
  'grid',
  'methods',
  'parallel',
  'splines',
  'stats',
  'stats4',
  'tcltk',
  'tools',
  'utils',
  'translations',
]);

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** The manifest's R packages, sorted by name. Entries that are not objects are ignored. */
export function rPackageRequirements(manifest: Manifest): RPackageRequirement[] {
  const out: RPackageRequirement[] = [];
  for (const [name, raw] of Object.entries(manifest.packages ?? {})) {
    if (typeof raw !== 'object' || raw === null) continue;
    const rec = raw as Record<string, unknown>;
    const desc = (typeof rec.description === 'object' && rec.description !== null ? rec.description : {}) as Record<string, unknown>;
    out.push({
      name,
      version: str(desc.Version),
      source: str(rec.Source),
      repository: str(rec.Repository),
      priority: str(desc.Priority),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Parses the lines `runtimes/r/installed-packages.R` prints. */
export function parseRLibraryListing(stdout: string): RLibraryState {
  const state: RLibraryState = { rVersion: '', libPaths: [], packages: [] };
  for (const line of stdout.split('\n')) {
    const f = line.replace(/\r$/, '').split('\t');
    if (f[0] === 'R' && f[1]) state.rVersion = f[1];
    else if (f[0] === 'LIB' && f[1]) state.libPaths.push(f[1]);
    else if (f[0] === 'PKG' && f[1] && f[2] && f.length >= 5) {
      state.packages.push({ name: f[1], version: f[2], priority: f[3] ?? '', libPath: f.slice(4).join('\t') });
    }
  }
  return state;
}

/** Debian Control File fields (an R package's DESCRIPTION): continuation lines start with whitespace. */
export function parseDcf(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last: string | null = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^\s/.test(line)) {
      if (last !== null && line.trim() !== '') fields[last] += `\n${line.trim()}`;
      continue;
    }
    const m = /^([^\s:]+):\s*(.*)$/.exec(line);
    if (!m) {
      last = null;
      continue;
    }
    last = m[1]!;
    fields[last] = m[2]!.trim();
  }
  return fields;
}

/** R's rule for package names (`Writing R Extensions` 1.1.1). */
const R_PACKAGE_NAME = /^[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]$/;
/** R package versions: at least two non-negative integers separated by `.` or `-`. */
const R_PACKAGE_VERSION = /^[0-9]+(?:[.-][0-9]+)+$/;

/**
 * An installed package as its DESCRIPTION describes it, or null when it is not one R would
 * list from `dirName` (another name in the file, no version, not an installed package).
 */
export function installedFromDescription(dirName: string, text: string, libPath: string): InstalledRPackage | null {
  const f = parseDcf(text);
  if (f.Package !== dirName || !R_PACKAGE_NAME.test(dirName) || !f.Version || !R_PACKAGE_VERSION.test(f.Version) || !f.Built) return null;
  return { name: dirName, version: f.Version, priority: f.Priority ?? '', libPath };
}

/**
 * The requirements the installer cannot be given: names or versions R would not accept, which
 * would otherwise end up in repository URLs and file names (`../x`, `1.0/../../y`).
 */
export function invalidRPackageSpecs(reqs: readonly RPackageRequirement[]): string[] {
  const bad: string[] = [];
  for (const r of reqs) {
    if (!R_PACKAGE_NAME.test(r.name)) bad.push(`${JSON.stringify(r.name)} is not an R package name`);
    else if (r.version !== null && !R_PACKAGE_VERSION.test(r.version)) bad.push(`${r.name}: ${JSON.stringify(r.version)} is not an R package version`);
  }
  return bad;
}

function versionParts(v: string): number[] {
  return v
    .split(/[.-]/)
    .map((p) => Number.parseInt(p, 10))
    .map((n) => (Number.isFinite(n) ? n : 0));
}

/** Compares R package versions (`1.0-3` < `1.0.10`): negative, zero or positive. */
export function compareRVersions(a: string, b: string): number {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

interface RPackageMismatch {
  requirement: RPackageRequirement;
  installed: InstalledRPackage;
}

export interface RLibraryPlan {
  /** The packages that count: the manifest's, less R's base packages. */
  required: RPackageRequirement[];
  /** Base packages the manifest lists (they come with R). */
  skipped: string[];
  missing: RPackageRequirement[];
  mismatched: RPackageMismatch[];
}

/** True when nothing is missing or at another version. */
export function planIsSatisfied(plan: RLibraryPlan): boolean {
  return plan.missing.length === 0 && plan.mismatched.length === 0;
}

/** The manifest's packages less R's base ones: what the environment key and the checks count. */
export function countedRequirements(reqs: readonly RPackageRequirement[]): RPackageRequirement[] {
  return reqs.filter((r) => !BASE_R_PACKAGES.has(r.name) && r.priority !== 'base');
}

/**
 * Compares what the manifest asks for with what R would load. The version policy is Connect's:
 * the exact version the bundle was made with (R Markdown output and app behaviour change
 * between releases, and bundles made on a server's own R record exactly its versions), so a
 * newer one counts as a mismatch too. R's base packages are skipped; a recommended package
 * (Matrix, lattice, ... shipped with R) counts if it is installed at any version.
 * `ignoreLib` leaves one library out, as if it were not on the search path.
 */
export function planRLibrary(reqs: readonly RPackageRequirement[], state: RLibraryState, ignoreLib?: string): RLibraryPlan {
  const first = new Map<string, InstalledRPackage>();
  for (const p of state.packages) if (p.libPath !== ignoreLib && !first.has(p.name)) first.set(p.name, p);
  const plan: RLibraryPlan = { required: [], skipped: [], missing: [], mismatched: [] };
  for (const req of reqs) {
    const have = first.get(req.name);
    if (BASE_R_PACKAGES.has(req.name) || req.priority === 'base' || have?.priority === 'base') {
      plan.skipped.push(req.name);
      continue;
    }
    plan.required.push(req);
    if (!have) plan.missing.push(req);
    else if (req.version && have.version !== req.version) {
      const recommended = req.priority === 'recommended' || have.priority === 'recommended';
      if (!recommended) plan.mismatched.push({ requirement: req, installed: have });
    }
  }
  return plan;
}

/** The cache key of a managed R environment: 16 hex characters of a SHA-256. */
export function rEnvironmentKey(interpreter: Interpreter, reqs: readonly RPackageRequirement[], repository: string): string {
  const pkgs = countedRequirements(reqs)
    .map((r) => `${r.name}@${r.version ?? '*'}`)
    .sort();
  const text = JSON.stringify({ r: interpreter.path, version: interpreter.version, packages: pkgs, repository });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** `shiny 1.7.4`, or `shiny (any version)`. */
export function describeRequirement(r: RPackageRequirement): string {
  return r.version ? `${r.name} ${r.version}` : `${r.name} (any version)`;
}

/** One line per problem, for the deploy log and error messages. */
export function describeRPlanProblems(plan: RLibraryPlan): string[] {
  const lines: string[] = [];
  for (const r of plan.missing) {
    const from = r.source && r.source !== 'CRAN' ? ` (from ${r.source})` : '';
    lines.push(`${describeRequirement(r)}: not installed${from}`);
  }
  for (const m of plan.mismatched) {
    const rel = compareRVersions(m.installed.version, m.requirement.version ?? '') > 0 ? 'newer' : 'older';
    lines.push(`${describeRequirement(m.requirement)}: ${m.installed.version} is installed (${rel}) in ${m.installed.libPath}`);
  }
  return lines;
}

/** Debian's package name for an R package: `r-cran-` and the name in lower case. */
export function debianPackageFor(name: string): string {
  return `r-cran-${name.toLowerCase()}`;
}
