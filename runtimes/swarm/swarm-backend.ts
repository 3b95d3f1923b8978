import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { shorten } from '../../src/domain/line-splitter.ts';
import { bundleImageName } from '../docker/bundle-image.ts';
import type { DockerBackend } from '../docker/docker-backend.ts';
import { eachLine, isGone } from '../docker/docker-streams.ts';
import { LABEL, ownedBy } from '../docker/labels.ts';
import type { JobStore, JobWriter } from '../jobs/job-store.ts';
import { exitedBeforeListening, noAnswerWithin, untilAnswered } from '../readiness.ts';
import type { Instance, InstanceSpec, Keep, PrepareRequest, Prepared, Recovered, RunSpec, RuntimeBackend } from '../backend.ts';
import { pushImage } from './registry.ts';
import { ENV_KEY_LABEL, serviceName, serviceSpec } from './service-spec.ts';
import { KeyedLock } from '../../src/domain/keyed-lock.ts';

const SYNC_MS = 1000;
const SCALE_TIMEOUT_MS = 60_000;
const TAIL_LINES = 15;
// The tail goes into a deploy's error message: a few lines of reasonable length.
const TAIL_LINE_CHARS = 2000;
/**
 * How long a replica may take to answer before it is adopted after a restart. On Debian's
 * Docker 20.10 the first connection to a Swarm replica after Lectern restarted was reset in
 * about one run in five, and the next one answered (the cause inside the engine was not found);
 * checking first keeps that from reaching a viewer.
 */
const ADOPT_CHECK_MS = 5000;
const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

export interface SwarmBackendOptions {
  docker: Docker;
  server: string;
  jobs: JobStore;
  /** Builds images and runs renders: the Docker backend of the manager's engine. */
  containers: DockerBackend;
  /** Where images go before a service uses them (`registry.example.com:5000`); none on one node. */
  registry: string | null;
}

interface Replica {
  instance: Instance;
  service: string;
  taskId: string;
  writer: JobWriter;
  tail: string[];
  detach: AbortController;
  stopping: boolean;
}

type Task = Docker.Task & {
  ID: string;
  NodeID?: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ExitCode?: number }; PortStatus?: { Ports?: Array<{ PublishedPort?: number }> } };
  DesiredState?: string;
};

/**
 * Served content as Swarm services, one per bundle, whose replicas are the bundle's
 * processes: the pool's decisions scale the service up and down, and each running task is an
 * instance reached at the port Swarm published for it on its node. Images are built by the
 * manager's engine (and pushed to the registry on a swarm of several nodes); renders run as
 * throwaway containers there.
 */
export class SwarmBackend implements RuntimeBackend {
  readonly sharesVariables = true;
  private readonly replicas = new Map<string, Replica>();
  private readonly exitListeners: Array<(i: Instance, code: number | null, stopped: boolean) => void> = [];
  // One change at a time per service: a scale is read-modify-write of its spec.
  private readonly locks = new KeyedLock();
  private readonly nodeAddresses = new Map<string, string>();
  private localNode = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: SwarmBackendOptions) {}

  /** Checks the engine is a swarm manager and starts watching replicas. */
  async init(): Promise<void> {
    const info = (await this.o.docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string } };
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
      throw new Error(
        'runtime.backend is swarm, but this Docker engine is not a swarm manager: run `docker swarm init` (or join it to the swarm as a manager).',
      );
    }
    this.localNode = info.Swarm.NodeID ?? '';
    const nodes = await this.o.docker.listNodes();
    // Swarm publishes a replica's port in host mode on every interface of its node (services
    // cannot bind one address), so on other nodes anyone on their network could reach an app
    // directly, past Lectern's access checks. Until the proxy reaches replicas over an overlay
    // network it joins, only the manager's own node is accepted.
    if (nodes.length > 1) {
      throw new Error(
        `The swarm has ${nodes.length} nodes. Lectern runs Swarm content on a single-node swarm only: on other nodes each app's port would listen on every interface, reachable around Lectern's access checks. ` +
          'Use a single-node swarm (or runtime.backend docker) until Lectern reaches replicas over an overlay network it joins.',
      );
    }
    this.timer = setInterval(() => void this.sync().catch(() => undefined), SYNC_MS);
    this.timer.unref();
  }

  async prepare(req: PrepareRequest): Promise<Prepared> {
    const prepared = await this.o.containers.prepare(req);
    if (this.o.registry && req.language !== 'none') await pushImage(this.o.docker, bundleImageName(req.contentGuid, req.bundleId), this.o.registry, req.log);
    return prepared;
  }

  private image(contentGuid: string, bundleId: number): string {
    const local = bundleImageName(contentGuid, bundleId);
    return this.o.registry ? `${this.o.registry}/${local}` : local;
  }

  listenAddress() {
    return this.o.containers.listenAddress();
  }

  run(spec: RunSpec) {
    return this.o.containers.run(spec);
  }

  logs(contentGuid: string, key: string) {
    return this.o.jobs.readLog(contentGuid, key);
  }

  onExit(listener: (instance: Instance, code: number | null, stopped: boolean) => void): void {
    this.exitListeners.push(listener);
  }

  async list(): Promise<Instance[]> {
    return [...this.replicas.values()].map((r) => r.instance);
  }

  private serialized<T>(service: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(service, fn);
  }

  /** A service's tasks; none when the service does not exist (yet, or any more). */
  private async tasksOf(service: string): Promise<Task[]> {
    try {
      return (await this.o.docker.listTasks({ filters: { service: [service] } })) as Task[];
    } catch (err) {
      if (isGone(err)) return [];
      throw err;
    }
  }

  private async address(nodeId: string | undefined): Promise<string> {
    if (!nodeId || nodeId === this.localNode) return '127.0.0.1';
    let a = this.nodeAddresses.get(nodeId);
    if (!a) {
      a = ((await this.o.docker.getNode(nodeId).inspect()) as { Status: { Addr: string } }).Status.Addr;
      this.nodeAddresses.set(nodeId, a);
    }
    return a;
  }

  /** Sets a service's replica count, creating it (with `create`'s spec) or removing it at 0. */
  private async scale(name: string, by: number, create?: () => Docker.CreateServiceOptions): Promise<number> {
    const svc = this.o.docker.getService(name);
    type Info = { Version: { Index: number }; Spec: Docker.CreateServiceOptions & { Mode: { Replicated: { Replicas: number } } } };
    const info = (await svc.inspect().catch((err: unknown) => {
      if (isGone(err)) return null;
      throw err;
    })) as Info | null;
    if (!info) {
      if (by <= 0 || !create) return 0;
      await this.o.docker.createService(create());
      return 1;
    }
    const replicas = Math.max(0, info.Spec.Mode.Replicated.Replicas + by);
    if (replicas === 0) {
      await svc.remove().catch((err) => {
        if (!isGone(err)) throw err;
      });
      return 0;
    }
    info.Spec.Mode.Replicated.Replicas = replicas;
    await svc.update({ version: info.Version.Index, ...info.Spec });
    return replicas;
  }

  async start(spec: InstanceSpec): Promise<Instance> {
    const name = serviceName(spec.contentGuid, spec.bundleId);
    const deadline = Date.now() + spec.initTimeoutMs;
    const task = await this.serialized(name, async () => {
      const taken = new Set([...this.replicas.values()].map((r) => r.taskId));
      const known = new Set((await this.tasksOf(name)).map((t) => t.ID));
      await this.scale(name, 1, () => serviceSpec(spec, this.image(spec.contentGuid, spec.bundleId), this.o.server, 1));
      // The new replica: a task this service did not have, running, with its port published.
      while (Date.now() < deadline) {
        const tasks = await this.tasksOf(name);
        const fresh = tasks.filter((t) => !known.has(t.ID) && !taken.has(t.ID));
        const up = fresh.find((t) => t.Status.State === 'running' && t.Status.PortStatus?.Ports?.[0]?.PublishedPort);
        if (up) return up;
        const failed = fresh.find((t) => ENDED.has(t.Status.State));
        if (failed) {
          await this.scale(name, -1);
          const out = await this.taskOutput(failed.ID);
          throw new Error(
            `The app's replica ${failed.Status.State} before it started listening${failed.Status.Err ? ` (${failed.Status.Err})` : ''}. Its last output:\n${out || '(none)'}`,
          );
        }
        await sleep(200);
      }
      await this.scale(name, -1);
      throw new Error(`Swarm did not start a replica within the init timeout of ${Math.round(spec.initTimeoutMs / 1000)} s.`);
    });
    const instance: Instance = {
      key: spec.key,
      contentGuid: spec.contentGuid,
      bundleId: spec.bundleId,
      target: `http://${await this.address(task.NodeID)}:${task.Status.PortStatus!.Ports![0]!.PublishedPort}`,
      pid: null,
      startedAt: new Date(),
    };
    const r = await this.follow(
      instance,
      name,
      task.ID,
      await this.o.jobs.create({ key: spec.key, contentGuid: spec.contentGuid, bundleId: spec.bundleId, kind: 'process', tag: 'app', task: task.ID }),
      0,
    );
    const result = await untilAnswered(instance.target + spec.readinessPath, deadline, () => !this.replicas.has(spec.key));
    if (result === 'up') return instance;
    if (result === 'gone') throw exitedBeforeListening(undefined, r.tail);
    await this.stop(spec.key);
    throw noAnswerWithin(spec.initTimeoutMs, r.tail);
  }

  /** Copies a task's output into its job's log from `since` (seconds) on. */
  private async follow(instance: Instance, service: string, taskId: string, writer: JobWriter, since: number): Promise<Replica> {
    const r: Replica = { instance, service, taskId, writer, tail: [], detach: new AbortController(), stopping: false };
    this.replicas.set(instance.key, r);
    const task = this.o.docker.getTask(taskId) as unknown as { logs(o: object): Promise<NodeJS.ReadableStream> };
    void task
      .logs({ follow: true, stdout: true, stderr: true, since, abortSignal: r.detach.signal })
      .then((stream) =>
        eachLine(
          stream,
          (source, line) => {
            r.tail.push(shorten(line, TAIL_LINE_CHARS));
            if (r.tail.length > TAIL_LINES) r.tail.shift();
            return r.writer.line(source, line);
          },
          () => r.writer.drain(),
        ),
      )
      .catch(() => undefined);
    return r;
  }

  private async taskOutput(taskId: string): Promise<string> {
    const lines: string[] = [];
    try {
      const task = this.o.docker.getTask(taskId) as unknown as { logs(o: object): Promise<NodeJS.ReadableStream> };
      // Only the last lines are kept, each of a reasonable length, however much the task printed.
      await eachLine(await task.logs({ stdout: true, stderr: true, follow: false }), (_s, l) => {
        lines.push(shorten(l, TAIL_LINE_CHARS));
        if (lines.length > TAIL_LINES) lines.shift();
      });
    } catch {
      // no output to show
    }
    return lines.slice(-TAIL_LINES).join('\n');
  }

  private async ended(r: Replica, code: number | null, stopped: boolean): Promise<void> {
    if (this.replicas.get(r.instance.key) !== r) return;
    this.replicas.delete(r.instance.key);
    r.detach.abort();
    await r.writer.finish(code, stopped ? 'killed' : code === 0 ? 'exited' : 'failed');
    for (const l of this.exitListeners) l(r.instance, code, stopped);
  }

  /**
   * One replica fewer. Swarm picks which task goes (preferring ones that are not running); if
   * it took another instance's, that instance carries on with this one's process instead.
   */
  async stop(key: string): Promise<void> {
    const r = this.replicas.get(key);
    if (!r) return;
    r.stopping = true;
    await this.serialized(r.service, async () => {
      const left = await this.scale(r.service, -1);
      const deadline = Date.now() + SCALE_TIMEOUT_MS;
      let running: Task[] = [];
      while (Date.now() < deadline) {
        running = (await this.tasksOf(r.service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
        if (running.length <= left) break;
        await sleep(200);
      }
      const alive = new Set(running.map((t) => t.ID));
      if (alive.has(r.taskId)) {
        const orphan = [...this.replicas.values()].find((o) => o !== r && o.service === r.service && !alive.has(o.taskId));
        if (orphan) {
          orphan.writer.line('stderr', `[lectern] Swarm removed this replica's task when scaling down; it continues as task ${r.taskId}.`);
          orphan.instance.target = r.instance.target;
          orphan.taskId = r.taskId;
        }
      }
    });
    await this.ended(r, 0, true);
  }

  /** Notices replicas whose task ended by itself, and gives their slot back. */
  private async sync(): Promise<void> {
    const services = new Set([...this.replicas.values()].map((r) => r.service));
    for (const service of services) {
      const tasks = new Map((await this.tasksOf(service)).map((t) => [t.ID, t]));
      for (const r of [...this.replicas.values()].filter((x) => x.service === service && !x.stopping)) {
        const t = tasks.get(r.taskId);
        if (t && !ENDED.has(t.Status.State)) continue;
        r.stopping = true;
        await this.serialized(service, () => this.scale(service, -1));
        await this.ended(r, t?.Status.ContainerStatus?.ExitCode ?? null, false);
      }
    }
  }

  async discard(contentGuid: string, bundleId: number | null): Promise<void> {
    const which = [...ownedBy(this.o.server), `${LABEL.content}=${contentGuid}`, ...(bundleId === null ? [] : [`${LABEL.bundle}=${bundleId}`])];
    for (const s of await this.o.docker.listServices({ filters: { label: which } })) {
      for (const r of [...this.replicas.values()].filter((x) => x.service === s.Spec?.Name)) await this.ended(r, 0, true);
      await this.o.docker
        .getService(s.ID)
        .remove()
        .catch(() => undefined);
    }
    // The tasks' containers go with the service, a moment later; the images after them.
    const deadline = Date.now() + SCALE_TIMEOUT_MS;
    while (Date.now() < deadline && (await this.o.docker.listContainers({ all: true, filters: { label: which } })).length) await sleep(200);
    await this.o.containers.discard(contentGuid, bundleId);
  }

  /**
   * After a restart: the render containers an earlier run left go; the running replicas of
   * services whose bundle `keep` still wants become instances again (a job each, logs followed
   * from now); other services of this server go.
   */
  async recover(keep: Keep): Promise<Recovered> {
    const { removed } = await this.o.containers.recoverContainers(async () => false, false);
    const warnings = removed ? [`removed ${removed} content container(s) left by an earlier run`] : [];
    const adopted: Instance[] = [];
    const jobs = await this.o.jobs.running();
    for (const s of await this.o.docker.listServices({ filters: { label: ownedBy(this.o.server) } })) {
      const labels = s.Spec?.Labels ?? {};
      const guid = labels[LABEL.content] ?? '';
      const bundleId = Number(labels[LABEL.bundle]);
      const name = s.Spec?.Name ?? '';
      if (!(await keep(guid, bundleId))) {
        await this.o.docker
          .getService(s.ID)
          .remove()
          .catch(() => undefined);
        continue;
      }
      for (const t of (await this.tasksOf(name)).filter((x) => x.DesiredState === 'running' && x.Status.State === 'running')) {
        const port = t.Status.PortStatus?.Ports?.[0]?.PublishedPort;
        if (!port) continue;
        // The replica's job, found by its task: the same key, so sticky sessions stay on it.
        const existing = jobs.find((j) => j.task === t.ID);
        const key = existing?.key ?? `s${t.ID.slice(0, 20)}`;
        const instance: Instance = {
          key,
          envKey: labels[ENV_KEY_LABEL],
          contentGuid: guid,
          bundleId,
          target: `http://${await this.address(t.NodeID)}:${port}`,
          pid: null,
          startedAt: new Date(existing?.startTime ?? Date.now()),
        };
        // Adopted only once it answers (see ADOPT_CHECK_MS); one that does not is the sync loop's to notice.
        await untilAnswered(instance.target, Date.now() + ADOPT_CHECK_MS);
        const writer = existing
          ? await this.o.jobs.reopen(existing)
          : await this.o.jobs.create({ key, contentGuid: guid, bundleId, kind: 'process', tag: 'app', task: t.ID });
        await this.follow(instance, name, t.ID, writer, Math.floor(Date.now() / 1000));
        adopted.push(instance);
      }
    }
    const keys = new Set(adopted.map((i) => i.key));
    for (const j of jobs) if (!keys.has(j.key)) await this.o.jobs.markLost(j);
    return { adopted, warnings };
  }

  /** Server shutdown: stop watching; the services keep running for the next start to adopt (the render containers' follows end too). */
  async shutdown(): Promise<void> {
    this.detachAll();
    this.o.containers.detachAll();
  }

  /** Stops watching the replicas, leaving the services running. */
  detachAll(): void {
    if (this.timer) clearInterval(this.timer);
    for (const r of this.replicas.values()) r.detach.abort();
    this.replicas.clear();
  }

  /** Removes every service of this server. */
  async stopAll(): Promise<void> {
    this.detachAll();
    for (const s of await this.o.docker.listServices({ filters: { label: ownedBy(this.o.server) } }))
      await this.o.docker
        .getService(s.ID)
        .remove()
        .catch(() => undefined);
  }
}
