/** What one line of `/proc/<pid>/stat` says that the process list needs. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** User and system CPU time, in clock ticks. */
  cpuTicks: number;
  /** Resident set, in pages. */
  rssPages: number;
}

/** Parses `/proc/<pid>/stat` (proc(5)); undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // The command name (field 2) is in parentheses and may hold spaces or ')': the fields that
  // follow start after the last ')'.
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  const f = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss 24.
  const ppid = Number(f[1]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const rss = Number(f[21]);
  if (![ppid, utime, stime, rss].every(Number.isFinite)) return undefined;
  return { pid, ppid, cpuTicks: utime + stime, rssPages: rss };
}

/** The sum over `root` and its descendants, from one reading of every process's stat. */
export function treeTotals(stats: readonly ProcStat[], root: number): { cpuTicks: number; rssPages: number } | undefined {
  const children = new Map<number, ProcStat[]>();
  let top: ProcStat | undefined;
  for (const s of stats) {
    if (s.pid === root) top = s;
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  if (!top) return undefined;
  const total = { cpuTicks: 0, rssPages: 0 };
  const seen = new Set<number>();
  const queue = [top];
  for (let s = queue.pop(); s; s = queue.pop()) {
    if (seen.has(s.pid)) continue;
    seen.add(s.pid);
    total.cpuTicks += s.cpuTicks;
    total.rssPages += s.rssPages;
    queue.push(...(children.get(s.pid) ?? []));
  }
  return total;
}
