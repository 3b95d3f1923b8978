/**
 * The proxy's cost, measured in one run on one tiny upstream (a Node.js app deployed to
 * Lectern as `nodejs` content, answering "ok"): wrk with 1 thread and 32 connections against
 *   - the upstream directly,
 *   - Debian's nginx as a reverse proxy (1 worker, upstream keep-alive),
 *   - a bare http-proxy-3 server (the maintained fork of the http-proxy the design named),
 *   - Lectern, with the full check on every request (API key, access, instance pool).
 * Prints requests/s, p50 and p99 latency, and the ratios the proxy issue sets targets for.
 * As root, a sandboxed app has a network namespace of its own and is reached through its Unix
 * socket bridge (runtimes/local/netns.ts): nginx and http-proxy-3 use that socket as Lectern
 * does, and "direct" is the same program started bare on a TCP port, so the gap between it and
 * the proxies includes the bridge.
 * Lectern logs at `silent` here, as nginx runs with access_log off.
 *
 * Usage instrumentation (hits and visits, batched) is on, as by default, and the same server is
 * measured with recording paused in the same run, in turns (`--rounds=N`, 4 by default; each
 * goes first in every other round; the median of each is shown): the issue's "within 5% of
 * the same run with it off". One server, not two: two Lecterns in one process differed by up
 * to 8% with usage off in both.
 *
 *   node --import tsx bench/proxy.ts [seconds] [--rounds=N]
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../runtimes/local/ports.ts';
import { parseTarget } from '../runtimes/target.ts';
import { makeBundle, wsModule } from '../test/helpers/bundles.ts';
import { startBenchServer, type BenchServer } from './bench-server.ts';

const seconds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);
const rounds = Number(/^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--rounds=')) ?? '')?.[1] ?? 4);
// A tiny server that answers "ok".
const UPSTREAM =
  "require('http').createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('ok'); }).listen(Number(process.env.PORT), process.env.HOST);\n";
// A tiny server that answers "ok" and echoes WebSocket messages (ws shipped in its bundle).
const WS_ECHO =
  "const http = require('http'); const { WebSocketServer } = require('ws'); const s = http.createServer((q, r) => r.end('ok')); new WebSocketServer({ server: s }).on('connection', (c) => c.on('message', (m) => c.send(m))); s.listen(Number(process.env.PORT), process.env.HOST);\n";
const execFileAsync = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');

interface Result {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Lectern's rows only: this process's CPU time (all threads) per request, in microseconds. */
  cpuUs?: number;
}

/** The round with the median request rate (its latencies with it, as one run saw them). */
function median(runs: Result[]): Result {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;
}

function ms(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

// Asynchronous: Lectern runs in this process, and a synchronous child would stall it.
async function wrk(url: string, headers: string[] = []): Promise<Result> {
  const args = ['-t1', '-c32', `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const { stdout: out } = await execFileAsync('wrk', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  // Anchored to the distribution's lines: a Stdev column such as "85.50%" ends in "50%" too.
  const p50 = ms(/^\s*50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = ms(/^\s*99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (/Non-2xx/.test(out) || !(rps > 0)) throw new Error(`wrk saw errors for ${url}:\n${out}`);
  return { rps, p50, p99, requests };
}

async function waitFor(url: string) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} does not answer`);
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

/**
 * One round against a Lectern in this process, with the CPU it spent on it: a figure other
 * load on the machine disturbs less than the request rate. Its usage rows are written before
 * the clock stops, so their cost is counted in this round and not the next.
 */
async function lecternRound(s: BenchServer, guid: string, recording: boolean): Promise<Result> {
  s.server.usage!.recording = recording;
  const cpu = process.cpuUsage();
  const r = await wrk(`${s.base}/content/${guid}/`, [`Authorization: Key ${s.key}`]);
  await s.server.usage!.flush();
  const used = process.cpuUsage(cpu);
  return { ...r, cpuUs: (used.user + used.system) / r.requests };
}

/**
 * The tiny upstream on one process that takes every connection, started: the same upstream as
 * the other rows. (With Connect's defaults Lectern would start two more once 10 requests were
 * in flight at once.)
 */
async function deployTiny(s: BenchServer): Promise<string> {
  const guid = await deployNode(s.base, s.auth, 'tiny-upstream', { 'server.js': UPSTREAM });
  await fetch(`${s.base}/__api__/v1/content/${guid}`, {
    method: 'PATCH',
    headers: { ...s.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ max_processes: 1, max_conns_per_process: 1000 }),
  });
  await fetch(`${s.base}/content/${guid}/`, { headers: s.auth });
  return guid;
}

/**
 * Round trips per second over 8 connections, each keeping one small message in flight. The
 * client runs in a process of its own, as wrk does: in Lectern's process it would compete
 * with the relay it measures.
 */
async function echoRate(url: string, headers: Record<string, string>): Promise<number> {
  const client = `
    const { WebSocket } = require('ws');
    const [url, headers, seconds] = [${JSON.stringify(url)}, ${JSON.stringify(headers)}, ${seconds}];
    let count = 0;
    const until = Date.now() + seconds * 1000;
    Promise.all(Array.from({ length: 8 }, () => new Promise((resolve, reject) => {
      const c = new WebSocket(url, { headers });
      c.once('error', reject);
      c.once('open', () => {
        c.on('message', () => { count++; if (Date.now() < until) c.send('ping'); else { c.close(); resolve(); } });
        c.send('ping');
      });
    }))).then(() => console.log(count / seconds), (e) => { console.error(String(e)); process.exit(1); });
  `;
  const { stdout } = await execFileAsync(process.execPath, ['-e', client], { cwd: REPO, encoding: 'utf8' });
  return Number(stdout.trim());
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-proxy-'));
const children: ChildProcess[] = [];
let lecternServer: BenchServer | undefined;
try {
  const on = await startBenchServer();
  lecternServer = on;
  const { ctx, base, key, auth } = on;
  const guid = await deployTiny(on);
  const target = ctx.runtime.runner.running().find((i) => i.contentGuid === guid)!.target;

  // The same tiny server answers WebSockets too (an echo), with `ws` shipped in its bundle.
  const wsGuid = await deployNode(base, auth, 'tiny-ws', {
    'server.js': WS_ECHO,
    ...wsModule(),
  });
  await fetch(`${base}/content/${wsGuid}/`, { headers: auth });
  const wsTarget = ctx.runtime.runner.running().find((i) => i.contentGuid === wsGuid)!.target;
  const { socketPath } = parseTarget(target);
  // The same programs, bare on TCP ports: the direct baselines.
  const directPort = await freePort();
  children.push(spawn(process.execPath, ['-e', UPSTREAM], { cwd: REPO, stdio: 'ignore', env: { PORT: String(directPort), HOST: '127.0.0.1' } }));
  const wsDirectPort = await freePort();
  children.push(spawn(process.execPath, ['-e', WS_ECHO], { cwd: REPO, stdio: 'ignore', env: { PORT: String(wsDirectPort), HOST: '127.0.0.1' } }));
  const directUrl = socketPath ? `http://127.0.0.1:${directPort}` : target;
  const wsDirectUrl = parseTarget(wsTarget).socketPath ? `ws://127.0.0.1:${wsDirectPort}/` : wsTarget.replace('http://', 'ws://') + '/';
  await waitFor(`http://127.0.0.1:${directPort}/`);
  await waitFor(`http://127.0.0.1:${wsDirectPort}/`);

  const nginxPort = await freePort();
  const prefix = path.join(work, 'nginx');
  execFileSync('mkdir', ['-p', path.join(prefix, 'logs')]);
  writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `${socketPath ? 'user root;\n' : ''}worker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/logs/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  upstream app { server ${socketPath ? `unix:${socketPath}` : target.replace('http://', '')}; keepalive 64; }\n  server {\n    listen 127.0.0.1:${nginxPort};\n    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }\n  }\n}\n`,
  );
  children.push(spawn('nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' }));

  const bareProxyPort = await freePort();
  const bare = `const { createProxyServer } = require('http-proxy-3'); const p = createProxyServer({ target: ${JSON.stringify(socketPath ? { socketPath } : target)}, agent: new (require('http').Agent)({ keepAlive: true }) }); require('http').createServer((q, s) => p.web(q, s)).listen(${bareProxyPort}, '127.0.0.1');`;
  children.push(spawn(process.execPath, ['-e', bare], { cwd: REPO, stdio: 'ignore' }));
  await waitFor(`http://127.0.0.1:${nginxPort}/`);
  await waitFor(`http://127.0.0.1:${bareProxyPort}/`);

  const direct = await wrk(`${directUrl}/`);
  const nginx = await wrk(`http://127.0.0.1:${nginxPort}/`);
  const bareProxy = await wrk(`http://127.0.0.1:${bareProxyPort}/`);
  // Usage on and off in turns; each row is the median of its rounds.
  const onRuns: Result[] = [];
  const offRuns: Result[] = [];
  for (let i = 0; i < rounds; i++) {
    // Each goes first in every other round: what comes first (a cooler machine, a JIT still
    // warming) falls on both alike.
    for (const recording of i % 2 === 0 ? [true, false] : [false, true]) (recording ? onRuns : offRuns).push(await lecternRound(on, guid, recording));
  }
  const lectern = median(onRuns);
  const lecternOff = median(offRuns);
  // Each round against the one after it: drift on the machine cancels within a pair.
  const pairs = onRuns.map((r, i) => r.rps / offRuns[i]!.rps).sort((a, b) => a - b);
  const cpuOn = onRuns.map((r) => r.cpuUs!).sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
  const cpuOff = offRuns.map((r) => r.cpuUs!).sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
  on.server.usage!.recording = true;
  const hits = (await ctx.db.knex('content_hits').count({ n: '*' }).first())?.n;

  const row = (name: string, r: Result) =>
    console.log(`${name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms`);
  console.log(`proxy, wrk -t1 -c32 -d${seconds}s, tiny Node upstream; 2 cores; Lectern rows: median of ${rounds} rounds each, taken in turns`);
  row('direct to the upstream', direct);
  row('nginx (1 worker, keep-alive)', nginx);
  row('bare http-proxy-3', bareProxy);
  row('Lectern (key + access on each req)', lectern);
  row('Lectern, usage recording paused', lecternOff);
  console.log(`usage rows: ${String(hits)} hits recorded, ${on.server.usage?.dropped ?? 0} dropped`);
  const wsDirect = await echoRate(wsDirectUrl, {});
  const wsLectern = await echoRate(`${base.replace('http://', 'ws://')}/content/${wsGuid}/`, { authorization: `Key ${key}` });
  console.log(`${'WebSocket echo, direct'.padEnd(34)} ${wsDirect.toFixed(0).padStart(7)} round trips/s (8 connections, one message in flight each)`);
  console.log(`${'WebSocket echo, through Lectern'.padEnd(34)} ${wsLectern.toFixed(0).padStart(7)} round trips/s`);
  console.log(
    `ratios: Lectern/nginx ${(lectern.rps / nginx.rps).toFixed(2)}x (target >= 0.5)   Lectern/bare http-proxy ${(lectern.rps / bareProxy.rps).toFixed(2)}x (target >= 2)   added p99 over direct ${(lectern.p99 - direct.p99).toFixed(2)} ms (target <= 2)   WebSocket Lectern/direct ${(wsLectern / wsDirect).toFixed(2)}x (target >= 0.8)`,
  );
  console.log(
    `usage recording: req/s on/off ${(lectern.rps / lecternOff.rps).toFixed(3)}x (median of pairs ${pairs[Math.floor(rounds / 2)]!.toFixed(3)}x; target >= 0.95)   CPU per request ${cpuOn.toFixed(1)} us on, ${cpuOff.toFixed(1)} us off (${(cpuOn / cpuOff).toFixed(3)}x)   p50 ${(lectern.p50 - lecternOff.p50).toFixed(2)} ms   p99 ${(lectern.p99 - lecternOff.p99).toFixed(2)} ms added`,
  );
} finally {
  await lecternServer?.close();
  for (const ch of children) if (ch.pid) process.kill(ch.pid, 'SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
