import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineSplitter, shorten } from '../../src/domain/line-splitter.ts';
import type { EnvironmentRestorer } from '../environments/environment.ts';
import { pickInterpreter, type Interpreter } from '../interpreters.ts';
import type { Instance, InstanceSpec, Keep, PrepareRequest, Prepared, ProcessSpec, Recovered, RunSpec, RuntimeBackend } from '../backend.ts';
import { exitedBeforeListening, noAnswerWithin, untilAnswered } from '../readiness.ts';
import { unixTarget } from '../target.ts';
import type { JobStore } from '../jobs/job-store.ts';
import { freePort } from './ports.ts';
import type { NetworkLinks } from './netns.ts';
import type { PackageProxy } from './package-proxy.ts';
import type { ResourceLimiter } from './resource-limits.ts';
import { buildLaunch, type SandboxOptions } from './sandbox.ts';
import { killGroup, sandboxStdio, startSandbox } from './sandbox-start.ts';

const STOP_GRACE_MS = 5000;
const TAIL_LINES = 15;
// The tail goes into a deploy's error message: a few lines of reasonable length.
const TAIL_LINE_CHARS = 2000;
const OUTPUT_GRACE_MS = 2000;

type NetworkLink = Awaited<ReturnType<NetworkLinks['link']>>;

// Setting up a fresh network namespace's loopback can fail for a moment on some kernels (seen
// on gVisor under load: "bwrap: loopback: Failed RTM_NEWADDR: No child processes"). It fails
// before the content's command ever runs, so starting the sandbox again is safe; a few tries.
const SETUP_TRIES = 3;
const SANDBOX_SETUP_FAULT = /^bwrap: loopback: /;

/** Whether a process's whole output says its sandbox failed to set up, before anything ran. */
export function isSandboxSetupFault(code: number | null, output: readonly string[]): boolean {
  return code === 1 && output.length > 0 && output.every((l) => SANDBOX_SETUP_FAULT.test(l));
}

export interface LocalBackendOptions {
  jobs: JobStore;
  sandbox: SandboxOptions;
  /** Links each sandboxed process's network namespace (as root); null: the host's network. */
  network: NetworkLinks | null;
  /** Applies memory_limit and cpu_limit (as root, with the network namespace's pid). */
  limiter?: ResourceLimiter | null;
  /** The package builds' way out (as root); closed with the network at shutdown. */
  packageProxy?: PackageProxy | null;
  interpreters: { python: Interpreter[]; r: Interpreter[] };
  restorers: { python: EnvironmentRestorer; r: EnvironmentRestorer };
}

interface Running {
  instance: Instance;
  child: ChildProcess;
  /** Resolves once the process has exited and its job record says so. */
  done: Promise<void>;
  stopping: boolean;
}

/** The port of a URL on the host's loopback (Lectern's API as CONNECT_SERVER names it), else null. */
function loopbackPort(url: string | undefined): number | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return null;
    return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  } catch {
    return null;
  }
}

/** Content as processes on this machine, each in its own process group and sandbox. */
export class LocalBackend implements RuntimeBackend {
  private readonly running = new Map<string, Running>();
  private readonly exitListeners: Array<(i: Instance, code: number | null, stopped: boolean) => void> = [];
  private closed = false;

  constructor(private readonly o: LocalBackendOptions) {}

  async prepare(req: PrepareRequest): Promise<Prepared> {
    if (req.language === 'none') return { interpreter: null, environment: { key: '', dir: null, reused: true, executable: '', env: {} } };
    const installed = this.o.interpreters[req.language];
    const wanted = req.language === 'python' ? req.manifest.python?.version : req.manifest.platform;
    const choice = pickInterpreter(installed, wanted);
    if (!choice) {
      const what =
        req.language === 'python'
          ? 'Python (apt-get install python3 python3-venv, or configure LECTERN_PYTHON)'
          : 'R (apt-get install r-base-core, or configure LECTERN_R)';
      throw new Error(`No ${what} installation is available on this server to run ${req.appMode} content.`);
    }
    req.log(`Using ${req.language === 'python' ? 'Python' : 'R'} ${choice.interpreter.version} at ${choice.interpreter.path} (${choice.reason}).`);
    const environment = await this.o.restorers[req.language].restore({
      interpreter: choice.interpreter,
      bundleDir: req.bundleDir,
      manifest: req.manifest,
      managed: req.managed,
      log: req.log,
      account: this.o.sandbox.accounts?.(req.contentGuid),
    });
    return { interpreter: choice.interpreter, environment };
  }

  async listenAddress(): Promise<{ host: string; port: number }> {
    return { host: '127.0.0.1', port: await freePort() };
  }

  /** Local environments are shared by key across bundles; nothing belongs to one bundle. */
  async discard(): Promise<void> {}

  private async spawnJob(spec: ProcessSpec, kind: 'process' | 'render', tag: string, onLine?: (line: string) => void, appPort: number | null = null) {
    const launch = buildLaunch(spec, this.o.sandbox);
    const writer = await this.o.jobs.create({ key: spec.key, contentGuid: spec.contentGuid, bundleId: spec.bundleId, kind, tag });
    // With bubblewrap: the environment on fd 3, and the command held until its namespace is linked (sandbox-start.ts).
    const stdio = launch.secrets === null ? (['ignore', 'pipe', 'pipe'] as const) : sandboxStdio(launch.infoFd);
    const child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, stdio: [...stdio], detached: true });
    const tail: string[] = [];
    // Bounded whatever the process writes: each line cut at MAX_LINE_BYTES, and the pipe paused
    // (so the process waits) while the log catches up.
    const capture = (source: 'stdout' | 'stderr', stream: Readable) => {
      let behind = false;
      const splitter = new LineSplitter((line) => {
        if (!writer.line(source, line)) behind = true;
        tail.push(shorten(line, TAIL_LINE_CHARS));
        if (tail.length > TAIL_LINES) tail.shift();
        onLine?.(line);
      });
      stream.on('data', (chunk: Buffer) => {
        splitter.write(chunk);
        if (!behind) return;
        behind = false;
        stream.pause();
        void writer.drain().then(() => stream.resume());
      });
      return new Promise<void>((resolve) => {
        stream.once('end', () => {
          splitter.end();
          resolve();
        });
        stream.once('close', () => resolve());
      });
    };
    const outputRead = Promise.all([capture('stdout', child.stdout!), capture('stderr', child.stderr!)]);
    // When the process exits, a paused pipe may still hold its last lines: the log is closed
    // once they are read, or a little later if something else holds the pipe open.
    const finishLog = writer.finish;
    writer.finish = async (code, status) => {
      await Promise.race([outputRead, sleep(OUTPUT_GRACE_MS, undefined, { ref: false })]);
      await finishLog(code, status);
    };
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (err) => {
        tail.push(`could not start: ${err.message}`);
        resolve(127);
      });
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    });
    await writer.setPid(child.pid ?? null);
    let link = null as NetworkLink | null;
    const { network, limiter } = this.o;
    const account = launch.account;
    const prepare =
      launch.infoFd && network && account
        ? async (pid: number) => {
            const made = await network.link({ key: spec.key, pid, account, appPort, apiPort: loopbackPort(spec.env.CONNECT_SERVER) });
            link = made;
            void exited.then(() => made.stop());
            // Before the command runs, so that everything it starts is within the limits too.
            if (limiter && (spec.limits.memoryBytes || spec.limits.cpus)) void exited.then(await limiter.apply(spec.key, pid, spec.limits));
          }
        : null;
    if (launch.secrets !== null) {
      try {
        await startSandbox(child, exited, launch.secrets, prepare);
      } catch (err) {
        await exited;
        await writer.finish(null, 'failed');
        throw err;
      }
    }
    return { child, exited, tail, writer, socketPath: link?.socketPath ?? null };
  }

  async start(spec: InstanceSpec, attempt = 1): Promise<Instance> {
    const { child, exited, tail, writer, socketPath } = await this.spawnJob(spec, 'process', 'app', undefined, spec.port);
    const target = socketPath ? unixTarget(socketPath) : `http://127.0.0.1:${spec.port}`;
    const instance: Instance = { key: spec.key, contentGuid: spec.contentGuid, bundleId: spec.bundleId, target, pid: child.pid ?? null, startedAt: new Date() };
    const entry: Running = { instance, child, done: Promise.resolve(), stopping: false };
    entry.done = exited.then(async (code) => {
      await writer.finish(code, entry.stopping ? 'killed' : code === 0 ? 'exited' : 'failed');
      this.running.delete(spec.key);
      for (const l of this.exitListeners) l(instance, code, entry.stopping);
    });
    this.running.set(spec.key, entry);

    let gone: number | null | undefined;
    void exited.then((c) => (gone = c));
    const result = await untilAnswered(instance.target + spec.readinessPath, Date.now() + spec.initTimeoutMs, () => gone !== undefined);
    if (result === 'up') return instance;
    if (result === 'gone' && attempt < SETUP_TRIES && isSandboxSetupFault(gone ?? null, tail)) {
      await entry.done;
      return this.start(spec, attempt + 1);
    }
    if (result === 'gone') throw exitedBeforeListening(gone, tail);
    await this.stop(spec.key);
    throw noAnswerWithin(spec.initTimeoutMs, tail);
  }

  async stop(key: string): Promise<void> {
    const r = this.running.get(key);
    if (!r || r.child.pid === undefined) return;
    r.stopping = true;
    killGroup(r.child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(r.child.pid!, 'SIGKILL'), STOP_GRACE_MS);
    await r.done;
    clearTimeout(timer);
  }

  async run(spec: RunSpec): Promise<{ exitCode: number | null; timedOut: boolean }> {
    for (let attempt = 1; ; attempt++) {
      // Lines that look like a failed setup wait (a few at most); the first other line sends
      // them on and streams the rest, so a render's log is live as before.
      const held: string[] = [];
      let streaming = attempt === SETUP_TRIES;
      const onLine = (line: string) => {
        if (!streaming && held.length < 4 && SANDBOX_SETUP_FAULT.test(line)) return void held.push(line);
        if (!streaming) {
          streaming = true;
          for (const h of held) spec.log?.(h);
        }
        spec.log?.(line);
      };
      const ran = await this.runOnce(spec, onLine);
      if (!streaming && !ran.timedOut && isSandboxSetupFault(ran.exitCode, held)) continue;
      if (!streaming) for (const h of held) spec.log?.(h);
      return ran;
    }
  }

  private async runOnce(spec: RunSpec, onLine: ((line: string) => void) | undefined): Promise<{ exitCode: number | null; timedOut: boolean }> {
    const { child, exited, writer } = await this.spawnJob(spec, 'render', 'render', onLine);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
    }, spec.timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    await writer.finish(code, timedOut ? 'killed' : code === 0 ? 'exited' : 'failed');
    return { exitCode: code, timedOut };
  }

  async list(): Promise<Instance[]> {
    return [...this.running.values()].map((r) => r.instance);
  }

  logs(contentGuid: string, key: string) {
    return this.o.jobs.readLog(contentGuid, key);
  }

  onExit(listener: (instance: Instance, code: number | null, stopped: boolean) => void): void {
    this.exitListeners.push(listener);
  }

  /**
   * After a restart: the processes an earlier Lectern left behind cannot be re-adopted (their
   * output pipes went with it), so each is stopped, checked to be ours by its job marker, and
   * whatever `keep` says. Nothing is adopted.
   */
  async recover(_keep: Keep): Promise<Recovered> {
    let stopped = 0;
    for (const job of await this.o.jobs.running()) {
      if (job.pid && (await this.isOurs(job.pid, job.key))) {
        killGroup(job.pid, 'SIGKILL');
        stopped++;
      }
      await this.o.jobs.markLost(job);
    }
    return { adopted: [], warnings: stopped ? [`stopped ${stopped} content process(es) left by an earlier run`] : [] };
  }

  private async isOurs(pid: number, key: string): Promise<boolean> {
    try {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(key)) return true;
      return (await readFile(`/proc/${pid}/environ`, 'utf8')).includes(`LECTERN_JOB=${key}`);
    } catch {
      return false;
    }
  }

  /** Server shutdown: local processes end with the server; then the package proxy and the network links go. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.running.keys()].map((k) => this.stop(k)));
    if (this.closed) return;
    this.closed = true;
    this.o.packageProxy?.close();
    this.o.network?.close();
  }
}
