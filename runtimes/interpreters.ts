/** An installed language runtime that content can run with. */
export interface Interpreter {
  language: 'r' | 'python';
  /** `/usr/bin/python3`, or R's `/usr/bin/R` (Rscript is its sibling). */
  path: string;
  /** `3.11.2`, `4.2.2`. */
  version: string;
}

export interface InterpreterChoice {
  interpreter: Interpreter;
  /** Why this one, for the deploy log. */
  reason: string;
}

function parts(v: string): number[] {
  return v
    .split(/[.-]/)
    .map((p) => Number.parseInt(p, 10))
    .filter((n) => Number.isFinite(n));
}

/**
 * The installation nearest to what the bundle was made with, as Connect chooses: the same
 * major and minor if possible, then the closest version at or above it, then the newest.
 */
export function pickInterpreter(installed: readonly Interpreter[], wanted: string | null | undefined): InterpreterChoice | undefined {
  if (installed.length === 0) return undefined;
  const sorted = [...installed].sort((a, b) => compare(parts(a.version), parts(b.version)));
  if (!wanted) return { interpreter: sorted[sorted.length - 1]!, reason: 'the bundle names no version; using the newest installed' };
  const w = parts(wanted);
  const exact = sorted.find((i) => i.version === wanted);
  if (exact) return { interpreter: exact, reason: `exact match for ${wanted}` };
  const sameMinor = sorted.filter((i) => {
    const p = parts(i.version);
    return p[0] === w[0] && p[1] === w[1];
  });
  if (sameMinor.length) return { interpreter: sameMinor[sameMinor.length - 1]!, reason: `same major.minor as ${wanted}` };
  const above = sorted.find((i) => compare(parts(i.version), w) >= 0);
  if (above) return { interpreter: above, reason: `nearest version above ${wanted}` };
  return { interpreter: sorted[sorted.length - 1]!, reason: `no installation at or above ${wanted}; using the newest` };
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
