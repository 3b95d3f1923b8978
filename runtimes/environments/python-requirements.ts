/**
 * Pure helpers for Python requirements files and pip's output: the policy a bundle's
 * requirements must pass (checkRequirements), what the cache key hashes, and how a failed
 * `pip install` is turned into a message a publisher can act on.
 */

// Python's str.splitlines() breaks lines at these too: pip reads the file with it, so must we.
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
// pip's COMMENT_RE: a '#' at the start of a line or after whitespace starts a comment.
const COMMENT = /(^|\s+)#.*$/;

/** One logical line of a requirements file: continuations joined, comment removed, trimmed. */
export interface RequirementLine {
  /** The physical line it starts on (1-based), and the last one it takes (continuations). */
  line: number;
  lastLine: number;
  /** Whitespace collapsed to single spaces. */
  text: string;
}

/**
 * The logical lines of a requirements file, as pip reads it (`pip._internal.req.req_file`):
 * a line ending in a backslash continues on the next one (not a comment line), comments and
 * blank lines are dropped.
 */
export function requirementLines(text: string): RequirementLine[] {
  const physical = text.replace(/^\uFEFF/, '').split(LINE_BREAKS);
  const out: RequirementLine[] = [];
  let pending: string[] = [];
  let first = 0;
  const emit = (start: number, last: number, joined: string) => {
    const clean = joined.replace(COMMENT, '').trim().replace(/\s+/g, ' ');
    if (clean !== '') out.push({ line: start, lastLine: last, text: clean });
  };
  physical.forEach((raw, i) => {
    const n = i + 1;
    const isComment = /^\s*#/.test(raw);
    if (!raw.endsWith('\\') || isComment) {
      if (pending.length > 0) {
        // pip prefixes a comment line with a space so the comment pattern still matches.
        pending.push(isComment ? ` ${raw}` : raw);
        emit(first, n, pending.join(''));
        pending = [];
      } else {
        emit(n, n, raw);
      }
    } else {
      if (pending.length === 0) first = n;
      pending.push(raw.replace(/^\\+|\\+$/g, ''));
    }
  });
  if (pending.length > 0) emit(first, physical.length, pending.join(''));
  return out;
}

/**
 * The requirements text as far as the result of an install is concerned: the logical lines
 * pip reads, whitespace collapsed, sorted. Two bundles whose files differ only in comments,
 * blank lines, continuations or order share one environment.
 */
export function normalizeRequirements(text: string): string {
  return [...new Set(requirementLines(text).map((l) => l.text))].sort().join('\n');
}

/** Why one line of a requirements file is refused. */
export interface RequirementProblem {
  line: number;
  lastLine: number;
  /** The logical line, shortened for a message. */
  text: string;
  kind: 'other-file' | 'index' | 'editable' | 'url-or-path' | 'option' | 'not-a-requirement';
  reason: string;
}

/** A requirements file that passed the policy: what pip is given, and what the key covers. */
export interface CheckedRequirements {
  lines: RequirementLine[];
  /** The lines pip reads, one a line, comments and continuations gone: nothing else is installed. */
  canonical: string;
}

const NAME = String.raw`[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`;
const VERSION_ONE = String.raw`(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9_.*+!-]+`;
const VERSION_LIST = String.raw`${VERSION_ONE}(?:\s*,\s*${VERSION_ONE})*`;
const MARKER_VARIABLE =
  'python_version|python_full_version|os_name|sys_platform|platform_release|platform_system|platform_version|platform_machine|platform_python_implementation|implementation_name|implementation_version|extra|os\\.name|sys\\.platform|platform\\.version|platform\\.machine|platform\\.python_implementation|python_implementation';
// A PEP 508 requirement named by project (no `@ url`): name, [extras], versions, ; markers.
const SPECIFIER = new RegExp(
  String.raw`^(${NAME})\s*(?:\[\s*(?:${NAME}(?:\s*,\s*${NAME})*)?\s*\])?\s*(?:\(\s*${VERSION_LIST}\s*\)|${VERSION_LIST})?\s*(?:;(.*))?$`,
);
const MARKER_TOKEN = new RegExp(
  String.raw`\s*(?:(${MARKER_VARIABLE})|'[A-Za-z0-9 ._*+!~<>=,-]*'|"[A-Za-z0-9 ._*+!~<>=,-]*"|===|==|!=|<=|>=|~=|<|>|\(|\)|and\b|or\b|not\s+in\b|in\b)`,
  'y',
);
const HASH = /^--hash(?:=|\s+)(sha256|sha384|sha512):([0-9a-fA-F]+)$/;
const HASH_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
// What pip takes for a file or directory rather than a project name (`pip._internal.req.constructors`).
const ARCHIVE = /\.(?:whl|tar\.gz|tgz|tar|tar\.bz2|tbz|tar\.xz|txz|tlz|tar\.lz|tar\.lzma|zip)$/i;

const OTHER_FILE = ['-r', '--requirement', '-c', '--constraint'];
const INDEX = ['-i', '--index-url', '--extra-index-url', '--no-index', '-f', '--find-links', '--trusted-host'];
const EDITABLE = ['-e', '--editable'];

/** The option a line starts with, as pip's option parser would take it (`-rfile`, `--req=file`, unique prefixes of long names). */
function optionKind(text: string): RequirementProblem['kind'] {
  const word = text.split(/[\s=]/, 1)[0] ?? '';
  const matches = (known: string[]) =>
    known.some((o) => (o.startsWith('--') ? word.length > 2 && word.startsWith('--') && o.startsWith(word) : !word.startsWith('--') && word.slice(0, 2) === o));
  if (matches(OTHER_FILE)) return 'other-file';
  if (matches(INDEX)) return 'index';
  if (matches(EDITABLE)) return 'editable';
  return 'option';
}

function markerIsValid(marker: string): boolean {
  const m = marker.trim();
  if (m === '') return false;
  MARKER_TOKEN.lastIndex = 0;
  let at = 0;
  while (at < m.length) {
    MARKER_TOKEN.lastIndex = at;
    const t = MARKER_TOKEN.exec(m);
    if (!t || t[0].length === 0) return false;
    at = MARKER_TOKEN.lastIndex;
  }
  return true;
}

/** Why a requirement (without its options) is refused, or null when it names a project. */
function specifierProblem(spec: string): { kind: RequirementProblem['kind']; reason: string } | null {
  const urlOrPath = {
    kind: 'url-or-path' as const,
    reason: "installs from a URL, a version-control repository or a file, not from the server's package index",
  };
  // `name @ url`, `https://...`, `git+ssh://...`, `file:pkg`, `c:pkg.whl`: anything with a scheme or an @.
  if (/:\/\/|@|^[a-z][a-z0-9+.-]*:/i.test(spec)) return urlOrPath;
  // `./pkg`, `../x`, `/abs/pkg`, `~/pkg`, `sub/dir`: paths.
  if (/^[.~]|[/\\]/.test(spec)) return urlOrPath;
  const m = SPECIFIER.exec(spec);
  if (!m)
    return {
      kind: 'not-a-requirement',
      reason: 'is not a requirement this server reads: a project name with optional [extras], version specifiers and ; environment markers',
    };
  if (ARCHIVE.test(m[1]!)) return urlOrPath;
  if (m[2] !== undefined && !markerIsValid(m[2])) return { kind: 'not-a-requirement', reason: 'has an environment marker this server does not read' };
  return null;
}

function shorten(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}

/**
 * Applies the server's policy to a requirements file. Allowed: comments, blank lines, and
 * requirements named by project (PEP 508 without `@ url`: version specifiers, [extras],
 * environment markers), each with optional `--hash=<sha256|sha384|sha512>:<hex>` options
 * (pip's hash-checking mode: every package installed must then be pinned with ==, and hashed).
 * Refused, because they would install from elsewhere than the configured index, read other
 * files the cache key does not cover, or change how pip runs:
 * - every option line (`-r`, `-c`, `-i`, `--extra-index-url`, `-f`, `--trusted-host`, `-e`,
 *   `--pre`, `--no-index`, ...): anything starting with `-`;
 * - direct URL, version-control and path requirements (`name @ url`, `git+https://...`,
 *   `./pkg`, `/abs/pkg.whl`, `file:...`, anything with `://`, archive file names);
 * - per-requirement options other than `--hash` (`--config-settings`, `--global-option`);
 * - anything else that is not a requirement as above.
 */
export function checkRequirements(text: string): { checked: CheckedRequirements; problems: RequirementProblem[] } {
  const lines = requirementLines(text);
  const problems: RequirementProblem[] = [];
  const canonical: string[] = [];
  for (const l of lines) {
    const at = { line: l.line, lastLine: l.lastLine, text: shorten(l.text) };
    if (l.text.startsWith('-')) {
      const kind = optionKind(l.text);
      const reason = {
        'other-file': 'reads another file: the server installs only what this file itself lists, and caches the environment by its text',
        index: 'changes where packages come from: the server installs only from its configured package index',
        editable: "installs from a path or a version-control repository, not from the server's package index",
        option: 'is a pip option: requirements files may not set pip options here',
      }[kind as 'other-file' | 'index' | 'editable' | 'option'];
      problems.push({ ...at, kind, reason });
      continue;
    }
    // As pip splits a line: the requirement is what comes before the first word starting with '-'.
    const words = l.text.split(' ');
    const cut = words.findIndex((w) => w.startsWith('-'));
    const spec = (cut < 0 ? words : words.slice(0, cut)).join(' ');
    const options = cut < 0 ? [] : words.slice(cut);
    const bad = specifierProblem(spec);
    if (bad) {
      problems.push({ ...at, ...bad });
      continue;
    }
    const hashes: string[] = [];
    let optionProblem: string | null = null;
    for (let i = 0; i < options.length; i++) {
      let option = options[i]!;
      if (option === '--hash' && i + 1 < options.length) option = `${option} ${options[++i]!}`;
      const h = HASH.exec(option);
      if (!h) {
        optionProblem = /^--hash\b/.test(option)
          ? `has a --hash option that is not <sha256|sha384|sha512>:<hex digest>`
          : `has the option ${shorten(option.split(/[\s=]/, 1)[0] ?? option)}: the only option a requirement may carry here is --hash`;
        break;
      }
      if (h[2]!.length !== HASH_LENGTH[h[1]!]) {
        optionProblem = `has a --hash whose ${h[1]} digest is not ${HASH_LENGTH[h[1]!]} hex digits`;
        break;
      }
      hashes.push(`--hash=${h[1]}:${h[2]!.toLowerCase()}`);
    }
    if (optionProblem) {
      problems.push({ ...at, kind: 'option', reason: optionProblem });
      continue;
    }
    canonical.push([spec, ...hashes].join(' '));
  }
  return { checked: { lines, canonical: canonical.length > 0 ? `${canonical.join('\n')}\n` : '' }, problems };
}

/**
 * The publisher's error for a requirements file the policy refuses: every refused line with
 * its number and why, and what to do instead.
 */
export function requirementsPolicyError(fileName: string, problems: readonly RequirementProblem[]): Error {
  const where = (p: RequirementProblem) => (p.lastLine > p.line ? `lines ${p.line}-${p.lastLine}` : `line ${p.line}`);
  const kinds = new Set(problems.map((p) => p.kind));
  const fixes: string[] = [];
  if (kinds.has('other-file')) fixes.push(`copy the requirements of the other file into ${fileName} itself`);
  if (kinds.has('index'))
    fixes.push(
      'remove index options: the server installs from the package index its administrator configured (server setting runtime.pythonIndexUrl, LECTERN_PYTHON_INDEX_URL); ask them to add what you need there',
    );
  if (kinds.has('url-or-path') || kinds.has('editable')) {
    fixes.push(
      'replace URL, path and editable requirements with the project name and version (name==1.2.3) from the package index; ' +
        '`pip freeze` writes `name @ file:///...` for packages installed from local files (conda), `pip list --format=freeze` writes name==version',
    );
  }
  if (kinds.has('option')) fixes.push('remove pip options (a requirement may carry --hash=sha256:<digest> options, nothing else)');
  if (kinds.has('not-a-requirement'))
    fixes.push('write each requirement as a project name with optional [extras], version specifiers (==, >=, ~=, ...) and ; environment markers');
  return new Error(
    [
      `The bundle's ${fileName} has ${problems.length === 1 ? 'a line' : `${problems.length} lines`} this server does not install:`,
      ...problems.map((p) => `  ${where(p)}: ${p.text}\n    (${p.reason})`),
      `The server installs only requirements named by project from its configured package index: ${fileName} may hold comments and requirements such as ` +
        '`flask==2.2.2`, `dash[testing]>=2,<3` or `numpy; python_version >= "3.9"`, nothing else.',
      'To fix it:',
      ...fixes.map((f) => `  - ${f};`),
      '  - or deploy with Python environment management off, to run with the packages installed on the server.',
    ].join('\n'),
  );
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
      const from = cut >= 0 ? (/^\(from (.*)\)$/.exec(full.slice(cut + 1).trim())?.[1] ?? null) : null;
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
