import type { Content } from '../domain/content.ts';
import type { ProcessUsage } from './process-usage.ts';

/** One running content process, as Connect's `GET /__api__/metrics/procs` gives it (connectapi `get_procs`). */
export interface ProcessEntry {
  appId: number;
  appGuid: string;
  appName: string;
  appUrl: string;
  appRunAs: string | null;
  type: string;
  cpuCurrent: number;
  cpuTotal: number;
  ram: number;
}

/** What the list reads: the runner's running instances and the content they serve. */
export interface ProcessListSources {
  running(): readonly { key: string; contentGuid: string; pid: number | null; startedAt: Date }[];
  content(guid: string): Promise<Content | undefined>;
}

/**
 * This server's running content processes, keyed by PID. The local backend's PID is the
 * sandbox's (bubblewrap, with the app below it); Docker's is the container's init as the host
 * sees it (`State.Pid`), and its CPU and memory are read only when Lectern shares the host's
 * /proc with the engine. A Swarm task has no PID here: it is keyed by its job key instead.
 */
export class ProcessList {
  constructor(
    private readonly sources: ProcessListSources,
    private readonly usage: ProcessUsage,
  ) {}

  async list(baseUrl: string): Promise<Record<string, ProcessEntry>> {
    const running = this.sources.running();
    const usage = await this.usage.of(running);
    const out: Record<string, ProcessEntry> = {};
    const items = new Map<string, Content | undefined>();
    for (const p of running) {
      if (!items.has(p.contentGuid)) items.set(p.contentGuid, await this.sources.content(p.contentGuid));
      const c = items.get(p.contentGuid);
      // Deleted while it stops: not content any more.
      if (!c) continue;
      const u = (p.pid !== null && usage.get(p.pid)) || { cpuCurrent: 0, cpuTotal: 0, ram: 0 };
      out[p.pid !== null ? String(p.pid) : p.key] = {
        appId: c.id,
        appGuid: c.guid,
        appName: c.name,
        appUrl: `${baseUrl}/content/${c.guid}/`,
        appRunAs: c.run_as,
        type: c.appMode,
        ...u,
      };
    }
    return out;
  }
}
