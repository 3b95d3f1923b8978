/**
 * What the proxy benches (proxy.ts, front.ts) share: the load generators (wrk, a WebSocket echo
 * client), pinning them apart from the servers, CPU time read from /proc, nginx started and
 * stopped by pid, and Lectern started with a number of proxy workers and the tiny app deployed.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseTarget } from '../runtimes/target.ts';
import { makeBundle, wsModule } from '../test/helpers/bundles.ts';
import { startBenchServer, type BenchServer } from './bench-server.ts';

const execFileAsync = promisify(execFile);
// util-linux's, a system binary like nginx and wrk. Named here, not in the calls: knip reads
// binaries from literal calls and would want it in knip.json's ignoreBinaries, outside bench/.
const TASKSET = 'taskset';
export const REPO = path.resolve(import.meta.dirname, '..');

/** `[seconds] [--rounds=N] [--flag ...]`: the benches' command line. */
export function benchArgs(defaultRounds: number): { seconds: number; rounds: number; flags: Set<string> } {
  const args = process.argv.slice(2);
  return {
    seconds: Number(args.find((a) => /^\d+$/.test(a)) ?? 5),
    rounds: Number(/^--rounds=(\d+)$/.exec(args.find((a) => a.startsWith('--rounds=')) ?? '')?.[1] ?? defaultRounds),
    flags: new Set(args.filter((a) => /^--[a-z-]+$/.test(a))),
  };
}

/**
 * The tiny app every row relays to: answers "ok" and echoes WebSocket messages (`ws` comes
 * from the repository when run bare, from its bundle when Lectern runs it). One program for
 * both, so one deploy per Lectern.
 */
export const APP =
  "const http = require('http'); const { WebSocketServer } = require('ws'); const s = http.createServer((q, r) => { r.setHeader('content-type', 'text/plain'); r.end('ok'); }); new WebSocketServer({ server: s }).on('connection', (c) => c.on('message', (m) => c.send(m))); s.listen(Number(process.env.PORT), process.env.HOST);\n";

export interface Result {
  /** Requests (or WebSocket round trips) per second. */
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** CPU time of the proxy's processes per request, in microseconds, where measured. */
  cpuUs?: number;
}

/** The round with the median request rate (its latencies with it, as one run saw them). */
export function median(runs: Result[]): Result {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;
}

export function medianOf(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** `unit`: `req/s`, or `rt/s` for WebSocket round trips. */
export function printRow(name: string, r: Result, unit = 'req/s'): void {
  const cpu = r.cpuUs === undefined ? '' : `   CPU ${r.cpuUs.toFixed(1).padStart(6)} us/${unit.slice(0, -2)}`;
  console.log(
    `${name.padEnd(44)} ${r.rps.toFixed(0).padStart(7)} ${unit.padEnd(6)} p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms${cpu}`,
  );
}

/** Which CPUs this process may run on (`Cpus_allowed_list`, e.g. `0-3,6`). */
function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

/**
 * Where the load generators run. With more than 2 cores, wrk and the WebSocket client get the
 * last allowed CPU and this process the others, before anything is started, so Lectern, its
 * workers, the apps it starts and nginx inherit that set: the client's CPU is not taken from
 * what is measured. With 2, pinning would leave the proxy, its workers and the app one core
 * between them, a worse distortion than sharing: none is done, and the output says so.
 */
export function pinLoadApart(): { load: string | undefined; note: string } {
  const cpus = allowedCpus();
  const n = os.availableParallelism();
  if (n <= 2 || cpus.length <= 2) {
    return {
      load: undefined,
      note: `no pinning: ${n} cores, so wrk, the app and the proxy share them (pinning wrk to one would leave the proxy's workers and the app one core)`,
    };
  }
  const load = String(cpus[cpus.length - 1]);
  const rest = cpus.slice(0, -1).join(',');
  execFileSync(TASKSET, ['-a', '-p', '-c', rest, String(process.pid)], { stdio: 'ignore' });
  return { load, note: `pinned: wrk and the WebSocket client on CPU ${load}; this process (Lectern, its workers, the apps) and nginx on ${rest}` };
}

/** A command, on the load generator's CPU when there is one. */
function onLoadCpu(load: string | undefined, file: string, args: string[]): [string, string[]] {
  return load === undefined ? [file, args] : [TASKSET, ['-c', load, file, ...args]];
}

function ms(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** Milliseconds each connection waits between requests in a paced run (wrk's `delay()`). */
export const PACE_MS = 10;

/** A wrk script that paces each connection (without one, wrk sends as fast as answers come). */
function paceScript(): string {
  const file = path.join(os.tmpdir(), `lectern-bench-pace-${PACE_MS}.lua`);
  writeFileSync(file, `function delay() return ${PACE_MS} end\n`);
  return file;
}

/**
 * wrk with 1 thread and 32 connections: as fast as it can (`paced` false), or each connection
 * waiting PACE_MS between requests, a load well below every proxy's capacity, where latency is
 * the proxy's work rather than the queue a saturated run builds. Asynchronous: Lectern runs in
 * this process, and a synchronous child would stall it.
 */
export async function wrk(url: string, o: { seconds: number; load: string | undefined; headers?: string[]; paced?: boolean }): Promise<Result> {
  const args = ['-t1', '-c32', `-d${o.seconds}s`, '--latency', ...(o.paced ? ['-s', paceScript()] : []), ...(o.headers ?? []).flatMap((h) => ['-H', h]), url];
  const [file, argv] = onLoadCpu(o.load, 'wrk', args);
  const { stdout: out } = await execFileAsync(file, argv, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  // Anchored to the distribution's lines: a Stdev column such as "85.50%" ends in "50%" too.
  const p50 = ms(/^\s*50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = ms(/^\s*99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (/Non-2xx|Socket errors/.test(out) || !(rps > 0)) throw new Error(`wrk saw errors for ${url}:\n${out}`);
  return { rps, p50, p99, requests };
}

/**
 * WebSocket round trips over 8 connections, each keeping one small message in flight, with
 * each round trip's latency. The client runs in a process of its own, as wrk does: in
 * Lectern's process it would compete with the relay it measures.
 */
export async function echo(url: string, o: { seconds: number; load: string | undefined; headers?: Record<string, string> }): Promise<Result> {
  const client = `
    const { WebSocket } = require('ws');
    const [url, headers, seconds] = [${JSON.stringify(url)}, ${JSON.stringify(o.headers ?? {})}, ${o.seconds}];
    const times = [];
    const until = Date.now() + seconds * 1000;
    Promise.all(Array.from({ length: 8 }, () => new Promise((resolve, reject) => {
      const c = new WebSocket(url, { headers });
      c.once('error', reject);
      c.once('open', () => {
        let sent = 0;
        const send = () => { sent = performance.now(); c.send('ping'); };
        c.on('message', () => { times.push(performance.now() - sent); if (Date.now() < until) send(); else { c.close(); resolve(); } });
        send();
      });
    }))).then(() => {
      times.sort((a, b) => a - b);
      const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
      console.log(JSON.stringify({ rps: times.length / seconds, p50: at(0.5), p99: at(0.99), requests: times.length }));
    }, (e) => { console.error(String(e)); process.exit(1); });
  `;
  const [file, argv] = onLoadCpu(o.load, process.execPath, ['-e', client]);
  const { stdout } = await execFileAsync(file, argv, { cwd: REPO, encoding: 'utf8' });
  return JSON.parse(stdout) as Result;
}

export async function waitFor(url: string, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url, { headers });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} does not answer`);
}

// Clock ticks per second, the unit of /proc/<pid>/stat's CPU times.
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU time of some processes (all their threads), in microseconds. */
export function processCpuUs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is the first, utime the 12th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1e6) / CLK_TCK;
}

/** A process's children (nginx's workers), from /proc. */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(Number(d));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return out;
}

async function deployNode(base: string, auth: Record<string, string>, name: string, files: Record<string, string | Buffer>): Promise<string> {
  const bundle = await makeBundle(files, { appmode: 'nodejs', entrypoint: 'server.js' });
  const c = await (
    await fetch(`${base}/__api__/v1/content`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
  ).json();
  const up = await (await fetch(`${base}/__api__/v1/content/${c.guid}/bundles`, { method: 'POST', headers: auth, body: new Uint8Array(bundle) })).json();
  const dep = await (
    await fetch(`${base}/__api__/v1/content/${c.guid}/deploy`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ bundle_id: up.id }),
    })
  ).json();
  for (;;) {
    const t = await (await fetch(`${base}/__api__/v1/tasks/${dep.task_id}?wait=10`, { headers: auth })).json();
    if (t.finished) {
      if (t.code !== 0) throw new Error(t.error);
      return c.guid;
    }
  }
}

export interface BenchLectern {
  s: BenchServer;
  /** The tiny app, deployed, on one process that takes every connection. */
  guid: string;
  /** The content origin, where the proxy workers listen: `http://127.0.0.1:<port>`. */
  contentBase: string;
  /** Where nginx reaches the app Lectern started: `unix:<bridge socket>` as root, else host:port. */
  nginxUpstream: string;
  /** CPU of the server process (this one, all threads) and its proxy workers, in microseconds. */
  cpuUs(): number;
  workerPids(): number[];
}

/**
 * A Lectern with `workers` proxy workers and the tiny app deployed and started, on one process
 * that takes every connection: the same upstream as the other rows. (With Connect's defaults
 * Lectern would start two more once 10 requests were in flight at once.)
 */
export async function startLectern(workers: number, front = false): Promise<BenchLectern> {
  // Always said: the default is one worker per core. Behind the nginx front, nginx's workers.
  const s = await startBenchServer({ overrides: { proxy: { workers, ...(front ? { front: 'nginx' } : {}) } } });
  try {
    const guid = await deployNode(s.base, s.auth, 'tiny-upstream', { 'server.js': APP, ...wsModule() });
    await fetch(`${s.base}/__api__/v1/content/${guid}`, {
      method: 'PATCH',
      headers: { ...s.auth, 'content-type': 'application/json' },
      // Kept running: nginx relays to this process for minutes while Lectern's rows run elsewhere.
      body: JSON.stringify({ max_processes: 1, min_processes: 1, max_conns_per_process: 1000 }),
    });
    const contentBase = `http://127.0.0.1:${s.server.contentPort}`;
    const started = await fetch(`${contentBase}/content/${guid}/`, { headers: s.auth });
    if (started.status !== 200) throw new Error(`the tiny app answers ${started.status}`);
    const target = s.ctx.runtime.runner.running().find((i) => i.contentGuid === guid)!.target;
    const { socketPath } = parseTarget(target);
    if (!front && workers > 1 && s.server.proxyWorkerPids().length !== workers)
      throw new Error(`asked for ${workers} proxy workers, found ${s.server.proxyWorkerPids().length}`);
    return {
      s,
      guid,
      contentBase,
      nginxUpstream: socketPath ? `unix:${socketPath}` : target.replace('http://', ''),
      workerPids: () => s.server.proxyWorkerPids(),
      cpuUs() {
        const own = process.cpuUsage();
        const frontPid = s.server.frontPid();
        const nginx = frontPid ? [frontPid, ...childPids(frontPid)] : [];
        return own.user + own.system + processCpuUs([...s.server.proxyWorkerPids(), ...nginx]);
      },
    };
  } catch (err) {
    await s.close();
    throw err;
  }
}

/** The tiny app bare on a TCP port (long-lived, this process's child): the direct baseline. */
export function startDirect(port: number): ChildProcess {
  return spawn(process.execPath, ['-e', APP], { cwd: REPO, stdio: 'ignore', env: { PORT: String(port), HOST: '127.0.0.1' } });
}

export interface Nginx {
  /** CPU of the master and its workers, in microseconds. */
  cpuUs(): number;
  stop(): Promise<void>;
}

/**
 * Debian's nginx with `workers` worker processes and the given `http { }` body, in a directory
 * of its own. `user root` as root: the apps' Unix socket bridges are root's.
 */
export async function startNginx(dir: string, workers: number, httpBody: string, readyUrl: string): Promise<Nginx> {
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${workers};\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n${httpBody}}\n`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const master = child.pid!;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(readyUrl);
    for (let i = 0; childPids(master).length < workers; i++) {
      if (i > 50) throw new Error(`nginx started ${childPids(master).length} of ${workers} workers`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { cpuUs: () => processCpuUs([master, ...childPids(master)]), stop };
}

export interface Measured {
  http: Result;
  /** The same requests, paced (wrk's PACE_MS between requests on each connection). */
  paced?: Result;
  ws?: Result;
}

/**
 * One Lectern row: a server of its own with `workers` proxy workers, its CPU (this process and
 * the workers) read around each run, closed after it. A 1 s run first is not counted: the
 * server and its workers are new, their JIT cold, which nginx does not have. Usage rows are
 * written before the clock stops, so their cost is counted in the row that made them: the
 * server's are flushed; workers hand theirs over a second after the first row (`flushMs`) and
 * cannot be asked to flush, so with workers the clock waits 1.2 s for them (idle time, which
 * adds next to no CPU).
 */
export async function lecternRow(workers: number, o: { seconds: number; load: string | undefined; ws?: boolean; front?: boolean }): Promise<Measured> {
  const l = await startLectern(workers, o.front);
  try {
    const url = `${l.contentBase}/content/${l.guid}/`;
    const headers = [`Authorization: Key ${l.s.key}`];
    const written = async () => {
      if (workers > 1) await new Promise((r) => setTimeout(r, 1200));
      await l.s.server.usage?.flush();
    };
    // Behind the front, nginx relays once it has the process's upstream: its reload closes
    // idle connections (wrk would count the errors), so it is waited for before any load.
    const stats = l.s.server.frontStats();
    for (let i = 0; stats && stats.relayed === 0; i++) {
      if (i > 100) throw new Error('the nginx front relayed nothing');
      await fetch(url, { headers: l.s.auth });
      await new Promise((r) => setTimeout(r, 100));
    }
    await wrk(url, { seconds: 1, load: o.load, headers });
    await written();
    let before = l.cpuUs();
    const http = await wrk(url, { seconds: o.seconds, load: o.load, headers });
    await written();
    http.cpuUs = (l.cpuUs() - before) / http.requests;
    const paced = await wrk(url, { seconds: o.seconds, load: o.load, headers, paced: true });
    await written();
    if (o.ws === false) return { http, paced };
    before = l.cpuUs();
    const ws = await echo(url.replace('http://', 'ws://'), { seconds: o.seconds, load: o.load, headers: l.s.auth });
    ws.cpuUs = (l.cpuUs() - before) / ws.requests;
    return { http, paced, ws };
  } finally {
    await l.s.close();
  }
}
