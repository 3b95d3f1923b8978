import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Instance } from '../../runtimes/backend.ts';
import type { ContentRunner } from '../../runtimes/content-runner.ts';
import { nginxConf, RESPONSE_FILTER, upstreamsConf, type FrontConf, type FrontUpstream } from './nginx-conf.ts';

/** How often the process list is compared with nginx's upstreams. */
const SYNC_EVERY_MS = 250;
/**
 * After a reload, how long before a new upstream's name is handed out. A request an old nginx
 * worker still carries with a name it does not know fails to 502, which sends it to Lectern:
 * the wait only makes that rarer.
 */
const RELOAD_SETTLE_MS = 300;

class FrontUnavailable extends Error {}

export interface NginxFrontOptions extends Omit<FrontConf, 'user'> {
  nginxPath: string;
  port: number;
  /** The address nginx listens on (`server.address`): where its readiness is asked. */
  address: string;
  runner: Pick<ContentRunner, 'running'>;
  logger: Logger;
}

/**
 * nginx in front of the content origin (`proxy.front: nginx`): Lectern starts it, writes its
 * configuration, and keeps its upstreams (one per running content process) in step with the
 * pool, reloading it when they change.
 */
export class NginxFront {
  private readonly loaded = new Map<string, string>();
  private written = '';
  private nextName = 1;
  private readonly names = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private syncing: Promise<void> | undefined;
  private exited: Promise<number | null>;
  private closing = false;

  private constructor(
    private readonly o: NginxFrontOptions,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.timer = setInterval(() => void this.sync(), SYNC_EVERY_MS);
    this.timer.unref();
  }

  static async start(o: NginxFrontOptions): Promise<NginxFront> {
    if (!existsSync(o.jsModule))
      throw new FrontUnavailable(`proxy.front is nginx, but nginx's JavaScript module is not at ${o.jsModule}: install libnginx-mod-http-js (and nginx-light)`);
    mkdirSync(o.runDir, { recursive: true, mode: 0o700 });
    stopLeftover(o.runDir);
    writeFileSync(path.join(o.runDir, 'response-filter.js'), RESPONSE_FILTER);
    writeFileSync(path.join(o.runDir, 'upstreams.conf'), '');
    const conf = path.join(o.runDir, 'nginx.conf');
    // As root, nginx would run its workers as nobody, who cannot reach Lectern's sockets.
    writeFileSync(conf, nginxConf({ ...o, ...(process.getuid?.() === 0 ? { user: 'root' } : {}) }));
    const child = spawn(o.nginxPath, ['-e', 'stderr', '-p', o.runDir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const logs: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (logs.length < 50) logs.push(chunk);
      for (const line of chunk.split('\n')) if (line.trim()) o.logger.warn({ nginx: line.trim() }, 'nginx front');
    });
    const front = new NginxFront(o, child);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('error', (err) =>
        reject(new FrontUnavailable(`proxy.front is nginx, but ${o.nginxPath} could not start: ${err.message} (install nginx-light)`)),
      );
      child.once('spawn', resolve);
    });
    await spawned;
    // Listening once a connection to its port succeeds; an exit first is a failed start.
    for (let i = 0; ; i++) {
      const state = await Promise.race([front.exited.then(() => 'exited' as const), connects(o.port, o.address).then((ok) => (ok ? 'up' : 'down'))]);
      if (state === 'up') break;
      if (state === 'exited' || i > 200) {
        child.kill('SIGKILL');
        throw new FrontUnavailable(`nginx front did not start: ${logs.join('').trim() || 'no answer on its port'}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Said loudly: without nginx the content port answers nothing.
    void front.exited.then((code) => {
      if (!front.closing) o.logger.error({ code }, 'nginx front exited: the content port is down until Lectern restarts');
    });
    return front;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** nginx's name for a process, once nginx has it; otherwise Lectern relays for now. */
  upstreamOf(instance: Instance): string | undefined {
    const name = this.loaded.get(nameKey(instance));
    if (!name) void this.sync();
    return name;
  }

  /** Writes the upstreams of the running processes, if they changed, and reloads nginx. */
  sync(): Promise<void> {
    // Reset in a callback of its own: the work can finish before `??=` has assigned it.
    this.syncing ??= this.update().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async update(): Promise<void> {
    try {
      const running = this.o.runner.running();
      const list: Array<FrontUpstream & { key: string }> = running.map((i) => {
        const key = nameKey(i);
        let name = this.names.get(key);
        if (!name) this.names.set(key, (name = `lectern_p${this.nextName++}`));
        return { key, name, target: i.target };
      });
      const text = upstreamsConf(list);
      // Gone processes, and those whose address changed, lose their names at once: a stale
      // name would only cost a 502 and a retry through Lectern.
      const keys = new Set(list.map((u) => u.key));
      for (const k of [...this.loaded.keys()]) if (!keys.has(k)) this.loaded.delete(k);
      for (const k of [...this.names.keys()]) if (!keys.has(k)) this.names.delete(k);
      if (text === this.written) return;
      writeFileSync(path.join(this.o.runDir, 'upstreams.conf'), text);
      this.written = text;
      this.child.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, RELOAD_SETTLE_MS));
      for (const u of list) if (this.names.get(u.key) === u.name) this.loaded.set(u.key, u.name);
    } catch (err) {
      this.o.logger.error({ err }, 'nginx front: could not update its upstreams');
    }
  }

  /** Graceful: nginx finishes the requests it carries, for up to `graceSeconds`. */
  async close(graceSeconds: number): Promise<void> {
    clearInterval(this.timer);
    this.closing = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGQUIT');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceSeconds * 1000);
    await this.exited;
    clearTimeout(t);
  }
}

/** A process's upstream is its address too: one whose address changed is another upstream. */
function nameKey(i: Instance): string {
  return `${i.key} ${i.target}`;
}

function connects(port: number, address: string): Promise<boolean> {
  // A wildcard address is reached on loopback.
  const host = address === '0.0.0.0' || address === '' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** An nginx a crashed Lectern left behind holds the port: told to quit, by its pid file. */
function stopLeftover(runDir: string): void {
  const pidFile = path.join(runDir, 'nginx.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    // Only an nginx of this run directory's: a reused pid may be anyone's, the system's nginx too.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.startsWith('nginx: master process') && cmd.includes(runDir)) process.kill(pid, 'SIGQUIT');
  } catch {
    // Not running.
  }
}
