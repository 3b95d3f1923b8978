/**
 * Pure helpers for Python requirements files and pip's output: what the cache key hashes, and
 * how a failed `pip install` is turned into a message a publisher can act on.
 */

/**
 * The requirements text as far as the result of an install is concerned: continuation lines
 * joined, comments and blank lines dropped, whitespace trimmed, lines sorted. Two bundles whose
 * files differ only in comments or order share one environment.
 */
export function normalizeRequirements(text: string): string {
  const joined = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').replace(/\\\n/g, ' ');
  const lines = joined
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim().replace(/\s+/g, ' '))
    .filter((line) => line !== '');
  return [...new Set(lines)].sort().join('\n');
}

/** PEP 503 name normalisation: `Flask_SQLAlchemy` and `flask-sqlalchemy` are one project. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The project name a requirement line or spec starts with (`dash[testing]>=2` → `dash`), or null for options and paths. */
export function requirementName(spec: string): string | null {
  const m = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[|[<>=!~;@(]|\s|$)/.exec(spec);
  if (!m || spec.trim().startsWith('-')) return null;
  return normalizeName(m[1]!);
}

/** One requirement pip could not find. */
export interface MissingRequirement {
  /** As pip printed it: `dash==2.16.1`. */
  spec: string;
  /** Which package asked for it, when it is not one of the bundle's own lines. */
  neededBy: string | null;
  /** The versions the index offers, as pip listed them (empty: none at all). */
  available: string[];
}

export interface PipDiagnosis {
  missing: MissingRequirement[];
  /** The "conflict is caused by" lines of a resolution failure. */
  conflicts: string[];
  /** Lines that say the network failed (DNS, refused, unreachable, timeouts). */
  network: string[];
  /** Packages whose build from source failed. */
  buildFailures: string[];
  /** pip's own ERROR lines, for whatever the patterns above do not cover. */
  errors: string[];
}

const NETWORK_PATTERNS = [
  /Failed to establish a new connection/i,
  /Temporary failure in name resolution/i,
  /Name or service not known/i,
  /Network is unreachable/i,
  /No route to host/i,
  /Connection refused/i,
  /Read timed out/i,
  /ConnectTimeoutError|connect timeout/i,
  /ProxyError|Cannot connect to proxy/i,
  /SSLError|CERTIFICATE_VERIFY_FAILED/i,
];

/** Reads what went wrong out of pip's output lines. */
export function diagnosePip(lines: readonly string[]): PipDiagnosis {
  const d: PipDiagnosis = { missing: [], conflicts: [], network: [], buildFailures: [], errors: [] };
  const seen = new Set<string>();
  let inConflict = false;
  for (const raw of lines) {
    const line = raw.trimEnd();
    const notFound = /Could not find a version that satisfies the requirement (.+) \(from versions: ([^)]*)\)\s*$/.exec(line);
    if (notFound) {
      const full = notFound[1]!;
      const cut = full.indexOf(' (from ');
      const spec = (cut >= 0 ? full.slice(0, cut) : full).trim();
      const from = cut >= 0 ? /^\(from (.*)\)$/.exec(full.slice(cut + 1).trim())?.[1] ?? null : null;
      // `fastapi==0.92.0->-r requirements.txt (line 1)`: the package that asked is before the arrow.
      const neededBy = from && !/^-[rc] /.test(from) ? (from.split('->')[0] ?? from).trim() : null;
      const versions = notFound[2]!.trim();
      const key = normalizeName(spec);
      if (!seen.has(key)) {
        seen.add(key);
        d.missing.push({ spec, neededBy, available: versions === 'none' ? [] : versions.split(/,\s*/) });
      }
      continue;
    }
    const noMatch = /No matching distribution found for (.+?)\s*$/.exec(line);
    if (noMatch) {
      const spec = noMatch[1]!.trim();
      const key = normalizeName(spec);
      if (!seen.has(key)) {
        seen.add(key);
        d.missing.push({ spec, neededBy: null, available: [] });
      }
      continue;
    }
    if (/The conflict is caused by:/.test(line)) {
      inConflict = true;
      continue;
    }
    if (inConflict) {
      if (line.trim() === '') {
        if (d.conflicts.length > 0) inConflict = false;
      } else {
        d.conflicts.push(line.trim());
      }
      continue;
    }
    if (NETWORK_PATTERNS.some((p) => p.test(line))) {
      d.network.push(line.replace(/^WARNING: /, '').trim());
      continue;
    }
    const build = /(?:Failed building wheel for|Failed to build) (.+?)\s*$/.exec(line);
    if (build) {
      for (const name of build[1]!.split(/\s+/)) if (!d.buildFailures.includes(name)) d.buildFailures.push(name);
      continue;
    }
    if (/^ERROR: /.test(line)) d.errors.push(line.slice('ERROR: '.length).trim());
  }
  return d;
}

/** The lines of a requirements file that name `names` (normalised), removed. */
export function withoutRequirements(text: string, names: ReadonlySet<string>): { text: string; removed: number } {
  let removed = 0;
  const kept = text
    .replace(/\r\n?/g, '\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => {
      const name = requirementName(line.replace(/(^|\s)#.*$/, ''));
      if (name && names.has(name)) {
        removed++;
        return false;
      }
      return true;
    });
  return { text: kept.join('\n'), removed };
}
