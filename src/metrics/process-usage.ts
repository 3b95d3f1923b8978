import { readdir, readFile } from 'node:fs/promises';
import { parseProcStat, treeTotals, type ProcStat } from './proc-stat.ts';

// USER_HZ is 100 on every Linux architecture Lectern runs on (x86-64, arm64), whatever the
// kernel's HZ; the page size is 4 KiB there too (arm64 kernels with 64 KiB pages are rare).
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** A process tree's use of the machine, as `GET /metrics/procs` gives it. */
export interface Usage {
  /** Percent of one CPU since the last look (or since the process started, at the first). */
  cpuCurrent: number;
  /** CPU seconds used since it started, whole (connectapi reads an integer). */
  cpuTotal: number;
  /** Resident memory, in bytes. */
  ram: number;
}

const NONE: Usage = { cpuCurrent: 0, cpuTotal: 0, ram: 0 };

async function readAllStats(): Promise<ProcStat[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const stats = await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readFile(`/proc/${n}/stat`, 'utf8').then(parseProcStat, () => undefined)));
  return stats.filter((s): s is ProcStat => s !== undefined);
}

/**
 * Reads `/proc` for the processes of running content: each one's tree (the sandbox or the
 * container's init and the app below it), summed. Keeps the previous reading of each to give
 * the CPU use since. A process this host cannot see (a Swarm task on another node, no pid)
 * reads as zeros.
 */
export class ProcessUsage {
  private last = new Map<number, { ticks: number; at: number }>();

  async of(processes: readonly { pid: number | null; startedAt: Date }[], now = Date.now()): Promise<Map<number, Usage>> {
    const out = new Map<number, Usage>();
    const wanted = processes.filter((p): p is { pid: number; startedAt: Date } => p.pid !== null);
    const stats = wanted.length ? await readAllStats() : [];
    const next = new Map<number, { ticks: number; at: number }>();
    for (const p of wanted) {
      const t = treeTotals(stats, p.pid);
      if (!t) {
        out.set(p.pid, NONE);
        continue;
      }
      const before = this.last.get(p.pid) ?? { ticks: 0, at: p.startedAt.getTime() };
      const seconds = (now - before.at) / 1000;
      const used = (t.cpuTicks - before.ticks) / TICKS_PER_SECOND;
      out.set(p.pid, {
        cpuCurrent: seconds > 0 && used >= 0 ? Math.round((used / seconds) * 1000) / 10 : 0,
        cpuTotal: Math.round(t.cpuTicks / TICKS_PER_SECOND),
        ram: t.rssPages * PAGE_BYTES,
      });
      next.set(p.pid, { ticks: t.cpuTicks, at: now });
    }
    // Only the processes still running are remembered.
    this.last = next;
    return out;
  }
}
