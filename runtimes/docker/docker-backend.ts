import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import * as tar from 'tar';
import type { JobInfo } from '../../src/domain/jobs.ts';
import { shorten } from '../../src/domain/line-splitter.ts';
import { SANDBOX_PATHS } from '../content-process.ts';
import type { JobStore, JobWriter } from '../jobs/job-store.ts';
import { exitedBeforeListening, noAnswerWithin, untilAnswered } from '../readiness.ts';
import type { Instance, InstanceSpec, Keep, PrepareRequest, Prepared, Recovered, RunSpec, RuntimeBackend } from '../backend.ts';
import { buildBundleImage, bundleImageName, removeImage } from './bundle-image.ts';
import { appContainer, CONTAINER_PORT, containerName, renderContainer } from './container-spec.ts';
import { eachLine, isGone } from './docker-streams.ts';
import { pythonSteps, rSteps } from './environment-steps.ts';
import { chooseRuntimeImage } from './image-catalog.ts';
import { isOwned, LABEL, ownedBy } from './labels.ts';

const STOP_GRACE_SECONDS = 5;
const TAIL_LINES = 15;
// The tail goes into a deploy's error message: a few lines of reasonable length.
const TAIL_LINE_CHARS = 2000;

export interface DockerBackendOptions {
  docker: Docker;
  /** This installation's name (labels.ts): what it may adopt, stop and prune. */
  server: string;
  jobs: JobStore;
  pythonIndexUrl: string;
  rRepository: string;
}

interface Tracked {
  instance: Instance;
  container: Docker.Container;
  /** Resolves once the container has exited, its job is recorded and the container is gone. */
  done: Promise<void>;
  exited: Promise<number | null>;
  tail: string[];
  stopping: boolean;
  /** Ends the log follow and the wait at server shutdown, leaving the container running. */
  detach: AbortController;
}

/**
 * Content in Docker containers: one image per bundle (built FROM a runtime image, with the
 * environment restored in cached layers), one container per process. Containers outlive the
 * server: a restarted Lectern adopts the ones it still wants and removes the rest.
 */
export class DockerBackend implements RuntimeBackend {
  private readonly running = new Map<string, Tracked>();
  private readonly exitListeners: Array<(i: Instance, code: number | null, stopped: boolean) => void> = [];

  constructor(private readonly o: DockerBackendOptions) {}

  async prepare(req: PrepareRequest): Promise<Prepared> {
    if (req.language === 'none') return { interpreter: null, environment: { key: '', dir: null, reused: true, executable: '', env: {} } };
    const docker = this.o.docker;
    const image = await chooseRuntimeImage(docker, req.language, req.manifest, req.imageName);
    const lang = req.language === 'python' ? 'Python' : 'R';
    req.log(
      `Using ${lang} ${(req.language === 'python' ? image.python : image.r) ?? ''} in the image ${image.name}${req.imageName ? ' (as the content asks)' : ''}.`,
    );
    const stepsReq = { language: req.language, image, bundleDir: req.bundleDir, manifest: req.manifest, managed: req.managed, log: req.log };
    const steps = req.language === 'python' ? await pythonSteps(stepsReq, this.o.pythonIndexUrl) : await rSteps(docker, stepsReq, this.o.rRepository);
    let built;
    try {
      built = await buildBundleImage(docker, {
        server: this.o.server,
        contentGuid: req.contentGuid,
        bundleId: req.bundleId,
        bundleDir: req.bundleDir,
        runtime: image,
        steps,
        log: req.log,
      });
    } catch (err) {
      throw buildFailure(err as Error, req.language, req.language === 'python' ? this.o.pythonIndexUrl : this.o.rRepository);
    }
    if (steps.run.length && built.reused) req.log(`Reusing the ${lang} environment: its image layers were cached, nothing was installed.`);
    if (built.built) req.log(`Built the image ${built.name} (${built.id.slice(7, 19)}).`);
    return { interpreter: steps.interpreter, environment: { key: built.id, reused: built.reused, ...steps.environment } };
  }

  async listenAddress(): Promise<{ host: string; port: number }> {
    return { host: '0.0.0.0', port: CONTAINER_PORT };
  }

  async start(spec: InstanceSpec): Promise<Instance> {
    const writer = await this.o.jobs.create({ key: spec.key, contentGuid: spec.contentGuid, bundleId: spec.bundleId, kind: 'process', tag: 'app' });
    let container: Docker.Container;
    let output: NodeJS.ReadableStream;
    try {
      container = await this.o.docker.createContainer(appContainer(spec, bundleImageName(spec.contentGuid, spec.bundleId), this.o.server));
      // Attached before it starts, so no output is missed (the engine keeps none: LogConfig none).
      output = await container.attach({ stream: true, stdout: true, stderr: true });
      await container.start();
    } catch (err) {
      await writer.finish(127, 'failed');
      await this.remove(containerName(spec.key));
      throw new Error(`The app's container could not start: ${(err as Error).message}`);
    }
    const info = await container.inspect();
    const hostPort = info.NetworkSettings.Ports?.[`${spec.port}/tcp`]?.[0]?.HostPort;
    const instance: Instance = {
      key: spec.key,
      contentGuid: spec.contentGuid,
      bundleId: spec.bundleId,
      target: `http://127.0.0.1:${hostPort}`,
      pid: info.State.Pid || null,
      startedAt: new Date(),
    };
    await writer.setPid(instance.pid);
    const t = this.track(instance, container, writer, output);

    if (!hostPort) {
      await this.stop(spec.key);
      throw new Error("The engine published no port for the app's container.");
    }
    let gone: number | null | undefined;
    void t.exited.then((c) => (gone = c));
    const result = await untilAnswered(instance.target + spec.readinessPath, Date.now() + spec.initTimeoutMs, () => gone !== undefined);
    if (result === 'up') return instance;
    if (result === 'gone') {
      await t.done;
      throw exitedBeforeListening(gone, t.tail);
    }
    await this.stop(spec.key);
    throw noAnswerWithin(spec.initTimeoutMs, t.tail);
  }

  /** Follows a container: its output into the job's log, its exit into the job record and the listeners. */
  private track(instance: Instance, container: Docker.Container, writer: JobWriter, output: NodeJS.ReadableStream | null): Tracked {
    const detach = new AbortController();
    const tail: string[] = [];
    // An adopted container is attached to now: its output from here on (the job log has the rest).
    const logged = (output ? Promise.resolve(output) : container.attach({ stream: true, stdout: true, stderr: true }))
      .then((stream) => {
        detach.signal.addEventListener('abort', () => (stream as unknown as { destroy(): void }).destroy?.());
        return eachLine(
          stream,
          (source, line) => {
            tail.push(shorten(line, TAIL_LINE_CHARS));
            if (tail.length > TAIL_LINES) tail.shift();
            return writer.line(source, line);
          },
          () => writer.drain(),
        );
      })
      .catch(() => undefined);
    const exited = (container.wait({ abortSignal: detach.signal } as never) as unknown as Promise<{ StatusCode?: number }>).then(
      (r: { StatusCode?: number }) => r.StatusCode ?? null,
      () => (detach.signal.aborted ? undefined : null),
    ) as Promise<number | null>;
    const t: Tracked = { instance, container, exited, tail, stopping: false, detach, done: Promise.resolve() };
    t.done = exited.then(async (code) => {
      if (detach.signal.aborted) return;
      await Promise.race([logged, sleep(2000)]);
      await writer.finish(code, t.stopping ? 'killed' : code === 0 ? 'exited' : 'failed');
      this.running.delete(instance.key);
      await container.remove({ force: true, v: true }).catch(() => undefined);
      for (const l of this.exitListeners) l(instance, code, t.stopping);
    });
    this.running.set(instance.key, t);
    return t;
  }

  async stop(key: string): Promise<void> {
    const t = this.running.get(key);
    if (!t) {
      await this.remove(containerName(key));
      return;
    }
    t.stopping = true;
    // SIGTERM, and SIGKILL after the grace period: the engine does both.
    await t.container.stop({ t: STOP_GRACE_SECONDS }).catch(() => undefined);
    await t.done;
  }

  /** Removes a container by name, only if it is this server's. */
  private async remove(name: string): Promise<void> {
    const c = this.o.docker.getContainer(name);
    try {
      const info = await c.inspect();
      if (!isOwned(info.Config.Labels, this.o.server)) return;
      await c.remove({ force: true, v: true });
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  async run(spec: RunSpec): Promise<{ exitCode: number | null; timedOut: boolean }> {
    const writer = await this.o.jobs.create({ key: spec.key, contentGuid: spec.contentGuid, bundleId: spec.bundleId, kind: 'render', tag: 'render' });
    const docker = this.o.docker;
    let container: Docker.Container | undefined;
    let timedOut = false;
    try {
      container = await docker.createContainer(renderContainer(spec, bundleImageName(spec.contentGuid, spec.bundleId), this.o.server, SANDBOX_PATHS.output));
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const logged = eachLine(
        stream,
        (source, line) => {
          spec.log(line);
          return writer.line(source, line);
        },
        () => writer.drain(),
      );
      await container.start();
      const timer = setTimeout(() => {
        timedOut = true;
        void container!.kill().catch(() => undefined);
      }, spec.timeoutMs);
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      clearTimeout(timer);
      await Promise.race([logged, sleep(2000)]);
      if (StatusCode === 0 && spec.mounts.outputDir) await copyOut(container, SANDBOX_PATHS.output, spec.mounts.outputDir);
      await writer.finish(StatusCode, timedOut ? 'killed' : StatusCode === 0 ? 'exited' : 'failed');
      return { exitCode: StatusCode, timedOut };
    } catch (err) {
      await writer.finish(null, 'failed');
      throw err;
    } finally {
      await container?.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  async list(): Promise<Instance[]> {
    return [...this.running.values()].map((t) => t.instance);
  }

  logs(contentGuid: string, key: string) {
    // The engine's output, as it was copied into the job's log while the container ran.
    return this.o.jobs.readLog(contentGuid, key);
  }

  onExit(listener: (instance: Instance, code: number | null, stopped: boolean) => void): void {
    this.exitListeners.push(listener);
  }

  /**
   * Removes the images of a deleted bundle (or of every bundle of deleted content), after the
   * containers still using them: a process draining, or one stopping as the deletion came.
   */
  async discard(contentGuid: string, bundleId: number | null): Promise<void> {
    const matches = (guid: string, bundle: number) => guid === contentGuid && (bundleId === null || bundle === bundleId);
    await Promise.all([...this.running.values()].filter((t) => matches(t.instance.contentGuid, t.instance.bundleId)).map((t) => this.stop(t.instance.key)));
    const which = [...ownedBy(this.o.server), `${LABEL.content}=${contentGuid}`, ...(bundleId === null ? [] : [`${LABEL.bundle}=${bundleId}`])];
    for (const c of await this.o.docker.listContainers({ all: true, filters: { label: which } })) {
      await this.o.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
    for (const img of await this.o.docker.listImages({ filters: { label: which } })) {
      if (!(await removeImage(this.o.docker, img.Id))) throw new Error(`the image ${img.RepoTags?.[0] ?? img.Id} is still in use`);
    }
  }

  /**
   * After a restart: the app containers an earlier run left are adopted when `keep` says their
   * bundle is still wanted (their logs followed on from now); every other container of this
   * server goes. Job records of processes that are gone are marked lost.
   */
  async recover(keep: Keep): Promise<Recovered> {
    const { adopted, removed } = await this.recoverContainers(keep, true);
    return { adopted, warnings: removed ? [`removed ${removed} content container(s) left by an earlier run`] : [] };
  }

  /**
   * recover()'s work, for Swarm too (its render containers): `markLost` off leaves the job
   * records alone (Swarm's replicas have records of their own, which it marks itself).
   */
  async recoverContainers(keep: Keep, markLost: boolean): Promise<{ adopted: Instance[]; removed: number }> {
    const docker = this.o.docker;
    const found = await docker.listContainers({ all: true, filters: { label: ownedBy(this.o.server) } });
    const records = new Map((await this.o.jobs.running()).map((j) => [j.key, j] as [string, JobInfo]));
    const adopted: Instance[] = [];
    let removed = 0;
    for (const c of found) {
      const labels = c.Labels;
      // A Swarm service's replicas are the swarm's to manage.
      if (labels[LABEL.kind] === 'service') continue;
      const key = labels[LABEL.job] ?? '';
      const guid = labels[LABEL.content] ?? '';
      const bundleId = Number(labels[LABEL.bundle]);
      const port = c.Ports.find((p) => String(p.PrivatePort) === labels[LABEL.port] && p.PublicPort);
      const record = records.get(key);
      if (c.State === 'running' && labels[LABEL.kind] === 'app' && port && record && (await keep(guid, bundleId))) {
        const instance: Instance = {
          key,
          contentGuid: guid,
          bundleId,
          target: `http://127.0.0.1:${port.PublicPort}`,
          pid: record.pid,
          startedAt: new Date(labels[LABEL.startedAt] ?? Date.now()),
        };
        this.track(instance, docker.getContainer(c.Id), await this.o.jobs.reopen(record), null);
        records.delete(key);
        adopted.push(instance);
        continue;
      }
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
      removed++;
    }
    if (markLost) for (const r of records.values()) await this.o.jobs.markLost(r);
    return { adopted, removed };
  }

  /** Server shutdown: containers outlive the server; they are no longer followed, and the next start adopts them. */
  async shutdown(): Promise<void> {
    this.detachAll();
  }

  /** Stops following the containers, leaving them running. */
  detachAll(): void {
    for (const t of this.running.values()) t.detach.abort();
    this.running.clear();
  }

  /** Stops and removes every container of this server (an administrator's full stop, and tests). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((k) => this.stop(k)));
    const left = await this.o.docker.listContainers({ all: true, filters: { label: ownedBy(this.o.server) } });
    for (const c of left)
      await this.o.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
  }
}

/**
 * Copies a render's output out of its container: regular files and directories only, inside
 * the output directory (tar refuses `..` and absolute names; links are left behind).
 */
async function copyOut(container: Docker.Container, from: string, to: string): Promise<void> {
  const archive = await container.getArchive({ path: `${from}/.` });
  await new Promise<void>((resolve, reject) => {
    const x = tar.x({ cwd: to, strip: 1, filter: (_p, entry) => 'type' in entry && (entry.type === 'File' || entry.type === 'Directory') });
    x.on('error', reject);
    x.on('close', resolve);
    x.on('finish', resolve);
    archive.on('error', reject);
    archive.pipe(x);
  });
}

/** What went wrong in a bundle image's build, said as the publisher can act on it. */
function buildFailure(err: Error, language: 'r' | 'python', source: string): Error {
  const msg = err.message;
  if (/returned a non-zero code/.test(msg) && language === 'python') {
    return new Error(
      `Installing the bundle's Python requirements from ${source} failed while building its image (pip's output is above). To fix it: make the packages available in that index (LECTERN_PYTHON_INDEX_URL), correct requirements.txt, or deploy with Python environment management off. (${msg})`,
    );
  }
  if (/returned a non-zero code/.test(msg)) {
    return new Error(
      `Installing the bundle's R packages from ${source} failed while building its image (R's output is above). To fix it: make the repository reachable or point LECTERN_R_REPOSITORY at one that has them, or deploy with R environment management off. (${msg})`,
    );
  }
  return new Error(`Building the bundle's image failed: ${msg}`);
}
