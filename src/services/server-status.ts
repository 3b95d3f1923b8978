import type { DiskSpace, DiskThresholds } from '../domain/disk-space.ts';
import { readDiskSpace } from './disk-space.ts';

/** An interpreter content can run with, as the runtime found it (in containers: with its image). */
interface FoundInterpreter {
  version: string;
  path: string;
  image?: string;
}

/**
 * What the status is read from, wired in the composition root (src/server.ts): the runtime
 * is known there only, so this service never imports runtimes/.
 */
export interface StatusSources {
  version: string;
  startedAt: Date;
  database: 'sqlite' | 'postgres';
  backend: string;
  dataDir: string;
  /** `health.*`: what the page calls low on disk space, as `GET /__health__` does. */
  diskThresholds: DiskThresholds;
  /** The same lists `GET /v1/server_settings/r` and `/python` answer with. */
  interpreters: { r: readonly FoundInterpreter[]; python: readonly FoundInterpreter[] };
  /** The configured Quarto, if any (local processes; in containers each image has its own). */
  quartoPath: string | undefined;
  /** The runtime images with their R, Python and Quarto versions (none for local processes). */
  runtimeImages(): Promise<ReadonlyArray<{ name: string; r: string | null; python: string | null; quarto: string | null }>>;
  runningProcesses(): number;
  countContent(): Promise<number>;
  countUsers(): Promise<number>;
}

export interface ServerStatus {
  version: string;
  uptimeMs: number;
  database: 'sqlite' | 'postgres';
  backend: string;
  dataDir: string;
  /** Version null: configured but not probed (Lectern does not run Quarto to ask). */
  runtimes: Array<{ language: 'R' | 'Python' | 'Quarto'; version: string | null; where: string }>;
  content: number;
  users: number;
  runningProcesses: number;
  /** Null when the file system would not say (the page shows that instead). */
  disk: DiskSpace | null;
}

/** The administrator's status page: what runs, on what, and how much room is left. */
export class ServerStatusService {
  constructor(
    private readonly sources: StatusSources,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async read(): Promise<ServerStatus> {
    const s = this.sources;
    const [content, users, images, disk] = await Promise.all([s.countContent(), s.countUsers(), s.runtimeImages(), this.disk()]);
    const runtimes: ServerStatus['runtimes'] = [
      ...s.interpreters.r.map((i) => ({ language: 'R' as const, version: i.version, where: i.image ?? i.path })),
      ...s.interpreters.python.map((i) => ({ language: 'Python' as const, version: i.version, where: i.image ?? i.path })),
      ...images.flatMap((i) => (i.quarto ? [{ language: 'Quarto' as const, version: i.quarto, where: i.name }] : [])),
    ];
    if (s.quartoPath) runtimes.push({ language: 'Quarto', version: null, where: s.quartoPath });
    return {
      version: s.version,
      uptimeMs: this.clock().getTime() - s.startedAt.getTime(),
      database: s.database,
      backend: s.backend,
      dataDir: s.dataDir,
      runtimes,
      content,
      users,
      runningProcesses: s.runningProcesses(),
      disk,
    };
  }

  private disk(): Promise<DiskSpace | null> {
    return readDiskSpace(this.sources.dataDir, this.sources.diskThresholds);
  }
}
