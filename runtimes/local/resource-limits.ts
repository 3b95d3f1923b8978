import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Limits } from '../backend.ts';

const run = promisify(execFile);
const CPU_PERIOD_US = 100_000;

/**
 * Connect's per-content `memory_limit` (bytes) and `cpu_limit` (CPUs) for local processes. The
 * server makes cgroups of its own below the one it runs in: with cgroup v1 (memory and cpu
 * hierarchies), or v2 where its cgroup delegates the memory and cpu controllers. Where neither
 * is writable, memory is capped by prlimit (the address space: coarser, since runtimes reserve
 * more than they use) and CPU cannot be capped. `kind` says which, for the start-up log.
 */
export interface ResourceLimiter {
  readonly kind: 'cgroup v1' | 'cgroup v2' | 'prlimit';
  /** Puts `pid` (before it runs content) under `limits`; the returned function removes what was made once it has exited. */
  apply(key: string, pid: number, limits: Limits): Promise<() => void>;
}

/** `<controller list>:<path>` lines of /proc/self/cgroup, by controller. */
function ownCgroups(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

function tryMkdir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

class CgroupV1 implements ResourceLimiter {
  readonly kind = 'cgroup v1';
  constructor(
    private readonly memoryBase: string,
    private readonly cpuBase: string,
  ) {}

  async apply(key: string, pid: number, limits: Limits) {
    const made: string[] = [];
    if (limits.memoryBytes) {
      const dir = path.join(this.memoryBase, key);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // No swap beyond the limit either, where the kernel accounts it.
      const memsw = path.join(dir, 'memory.memsw.limit_in_bytes');
      if (existsSync(memsw)) writeFileSync(memsw, String(limits.memoryBytes));
      writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    }
    if (limits.cpus) {
      const dir = path.join(this.cpuBase, key);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US))));
      writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    }
    return () => removeAll(made);
  }
}

class CgroupV2 implements ResourceLimiter {
  readonly kind = 'cgroup v2';
  constructor(private readonly base: string) {}

  async apply(key: string, pid: number, limits: Limits) {
    if (!limits.memoryBytes && !limits.cpus) return () => undefined;
    const dir = path.join(this.base, key);
    mkdirSync(dir);
    if (limits.memoryBytes) {
      writeFileSync(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      writeFileSync(path.join(dir, 'memory.swap.max'), '0');
    }
    if (limits.cpus) writeFileSync(path.join(dir, 'cpu.max'), `${Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US))} ${CPU_PERIOD_US}`);
    writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    return () => removeAll([dir]);
  }
}

class Prlimit implements ResourceLimiter {
  readonly kind = 'prlimit';
  async apply(_key: string, pid: number, limits: Limits) {
    if (limits.memoryBytes) await run('prlimit', [`--pid=${pid}`, `--as=${limits.memoryBytes}:${limits.memoryBytes}`]);
    return () => undefined;
  }
}

/** An emptied cgroup can be removed; one still busy (a process lingering) is left for the next start. */
function removeAll(dirs: string[]) {
  for (const d of dirs.reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // not empty yet
    }
  }
}

/** The best limiter this host offers; `name` keeps this server's cgroups apart from another's. */
export function createResourceLimiter(name: string): ResourceLimiter {
  const own = ownCgroups();
  const root = '/sys/fs/cgroup';
  if (existsSync(path.join(root, 'cgroup.controllers'))) {
    // v2: a child of our own cgroup, if the memory and cpu controllers are delegated to it.
    const base = path.join(root, own.get('') ?? '/', name);
    try {
      const parent = path.dirname(base);
      const offered = readFileSync(path.join(parent, 'cgroup.controllers'), 'utf8').split(/\s+/);
      if (offered.includes('memory') && offered.includes('cpu') && tryMkdir(base)) {
        writeFileSync(path.join(base, 'cgroup.subtree_control'), '+memory +cpu');
        return new CgroupV2(base);
      }
    } catch {
      // not delegated: fall through
    }
    return new Prlimit();
  }
  const memoryMount = path.join(root, 'memory');
  const cpuMount = ['cpu', 'cpu,cpuacct'].map((d) => path.join(root, d)).find((d) => existsSync(path.join(d, 'cpu.cfs_quota_us')));
  if (existsSync(path.join(memoryMount, 'memory.limit_in_bytes')) && cpuMount) {
    const memoryBase = path.join(memoryMount, own.get('memory') ?? '/', name);
    const cpuBase = path.join(cpuMount, own.get('cpu') ?? '/', name);
    if (tryMkdir(memoryBase) && tryMkdir(cpuBase)) return new CgroupV1(memoryBase, cpuBase);
  }
  return new Prlimit();
}
