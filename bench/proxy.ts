/**
 * The proxy's cost, measured in one run on one tiny app (Node.js, deployed to Lectern as
 * `nodejs` content, answering "ok" and echoing WebSocket messages): wrk with 1 thread and 32
 * connections, and a WebSocket echo client (8 connections, one message in flight each), against
 *   - the app directly,
 *   - Debian's nginx as a reverse proxy with 1 and with 2 worker processes (upstream keep-alive;
 *     WebSockets relayed with the Upgrade and Connection headers, nginx's usual recipe),
 *   - Lectern with 1 and with 2 proxy workers (`proxy.workers`), with the full check on every
 *     request (API key, access, instance pool), on its content origin where the workers listen,
 *   - with `--bare`, a bare http-proxy-3 server (the maintained fork of the http-proxy the
 *     design named).
 * Prints requests/s, p50 and p99 for each, the CPU per request of nginx's and Lectern's
 * processes (Lectern's: this process, the server, plus its workers), and the ratios the proxy
 * issue sets targets for.
 *
 * Fairness: each variant runs alone (nginx is started for its row and stopped after it; each
 * Lectern row gets a server of its own, closed before the next starts, so no idle workers sit
 * beside another row), in turns over `--rounds=N` (3 by default), the order reversed every
 * other round so what comes first (a cooler machine) falls on all alike; each row is the round
 * with the median rate. A Lectern row starts with a 1 s run that is not counted: its server
 * and workers are new, their JIT cold, which nginx does not have.
 * As root, a sandboxed app has a network namespace of its own and is reached through its Unix
 * socket bridge (runtimes/local/netns.ts): nginx and http-proxy-3 use that socket as Lectern
 * does (the app of a Lectern kept running for them, idle during the other rows), and "direct"
 * is the same program started bare on a TCP port, so the gap between it and the proxies
 * includes the bridge. Lectern logs at `silent` here, as nginx runs with access_log off.
 * With more than 2 cores the load generators are pinned apart (proxy-kit.ts pinLoadApart);
 * with 2 they are not, and the output says so.
 *
 * `--usage`: usage instrumentation (hits and visits, batched) is on, as by default, and the kept
 * Lectern (1 worker) is measured with recording paused too, in turns: the issue's "within 5% of
 * the same run with it off". One server, not two: two Lecterns in one process differed by up
 * to 8% with usage off in both.
 *
 *   node --import tsx bench/proxy.ts [seconds] [--rounds=N] [--usage] [--bare]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../runtimes/local/ports.ts';
import {
  PACE_MS,
  REPO,
  benchArgs,
  echo,
  lecternRow,
  median,
  medianOf,
  pinLoadApart,
  printRow,
  startDirect,
  startLectern,
  startNginx,
  waitFor,
  wrk,
  type BenchLectern,
  type Measured,
  type Result,
} from './proxy-kit.ts';

const { seconds, rounds, flags } = benchArgs(3);
// Before anything starts: what this process starts inherits its CPUs.
const pin = pinLoadApart();
const load = pin.load;

interface Variant {
  name: string;
  wsName?: string;
  run(): Promise<Measured>;
}

/** nginx relaying HTTP (keep-alive) on one port and WebSockets on another, to the same app. */
function nginxHttp(upstream: string, httpPort: number, wsPort: number): string {
  return `  upstream app { server ${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${httpPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${wsPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; }
  }
`;
}

/** The same Lectern measured with usage recording on and paused, in turns. */
async function usageComparison(l: BenchLectern) {
  const usage = l.s.server.usage!;
  const url = `${l.contentBase}/content/${l.guid}/`;
  const run = async (recording: boolean): Promise<Result> => {
    usage.recording = recording;
    const before = l.cpuUs();
    const r = await wrk(url, { seconds, load, headers: [`Authorization: Key ${l.s.key}`] });
    await usage.flush();
    return { ...r, cpuUs: (l.cpuUs() - before) / r.requests };
  };
  const on: Result[] = [];
  const off: Result[] = [];
  for (let i = 0; i < rounds; i++) for (const recording of i % 2 === 0 ? [true, false] : [false, true]) (recording ? on : off).push(await run(recording));
  usage.recording = true;
  const hits = (await l.s.ctx.db.knex('content_hits').count({ n: '*' }).first())?.n;
  const [a, b] = [median(on), median(off)];
  // Each round against its pair: drift on the machine cancels within a pair.
  const pairs = medianOf(on.map((r, i) => r.rps / off[i]!.rps));
  const [cpuOn, cpuOff] = [medianOf(on.map((r) => r.cpuUs!)), medianOf(off.map((r) => r.cpuUs!))];
  console.log(`\nusage recording (Lectern, 1 worker, median of ${rounds} rounds each, in turns)`);
  printRow('usage recording on', a);
  printRow('usage recording paused', b);
  console.log(`usage rows: ${String(hits)} hits recorded, ${usage.dropped} dropped`);
  console.log(
    `usage recording: req/s on/off ${(a.rps / b.rps).toFixed(3)}x (median of pairs ${pairs.toFixed(3)}x; target >= 0.95)   CPU per request ${cpuOn.toFixed(1)} us on, ${cpuOff.toFixed(1)} us off (${(cpuOn / cpuOff).toFixed(3)}x)   p50 ${(a.p50 - b.p50).toFixed(2)} ms   p99 ${(a.p99 - b.p99).toFixed(2)} ms added`,
  );
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-proxy-'));
const children: ChildProcess[] = [];
let kept: BenchLectern | undefined;
try {
  // The app nginx and http-proxy-3 relay to: one Lectern started, through its socket bridge as root.
  kept = await startLectern(1);
  const upstream = kept.nginxUpstream;
  const directPort = await freePort();
  children.push(startDirect(directPort));
  await waitFor(`http://127.0.0.1:${directPort}/`);
  const [httpPort, wsPort] = [await freePort(), await freePort()];

  const variants: Variant[] = [
    {
      name: 'direct to the app',
      wsName: 'WebSocket echo, direct',
      run: async () => ({
        http: await wrk(`http://127.0.0.1:${directPort}/`, { seconds, load }),
        paced: await wrk(`http://127.0.0.1:${directPort}/`, { seconds, load, paced: true }),
        ws: await echo(`ws://127.0.0.1:${directPort}/`, { seconds, load }),
      }),
    },
    ...[1, 2].map((n): Variant => ({
      name: `nginx, ${n} worker${n > 1 ? 's' : ''} (keep-alive)`,
      wsName: `WebSocket echo, nginx ${n} worker${n > 1 ? 's' : ''}`,
      run: async () => {
        const nginx = await startNginx(path.join(work, `nginx-${n}`), n, nginxHttp(upstream, httpPort, wsPort), `http://127.0.0.1:${httpPort}/`);
        try {
          let before = nginx.cpuUs();
          const http = await wrk(`http://127.0.0.1:${httpPort}/`, { seconds, load });
          http.cpuUs = (nginx.cpuUs() - before) / http.requests;
          const paced = await wrk(`http://127.0.0.1:${httpPort}/`, { seconds, load, paced: true });
          before = nginx.cpuUs();
          const ws = await echo(`ws://127.0.0.1:${wsPort}/`, { seconds, load });
          ws.cpuUs = (nginx.cpuUs() - before) / ws.requests;
          return { http, paced, ws };
        } finally {
          await nginx.stop();
        }
      },
    })),
    ...[1, 2].map((n): Variant => ({
      name: `Lectern, ${n} worker${n > 1 ? 's' : ''} (key + access)`,
      wsName: `WebSocket echo, Lectern ${n} worker${n > 1 ? 's' : ''}`,
      run: () => lecternRow(n, { seconds, load }),
    })),
    // proxy.front nginx: nginx relays, asking Lectern about every request; WebSockets are Lectern's.
    ...[1, 2].map((n): Variant => ({
      name: `Lectern + nginx front, ${n} worker${n > 1 ? 's' : ''}`,
      run: () => lecternRow(n, { seconds, load, ws: false, front: true }),
    })),
  ];
  if (flags.has('--bare')) {
    const barePort = await freePort();
    const target = upstream.startsWith('unix:') ? { socketPath: upstream.slice('unix:'.length) } : `http://${upstream}`;
    const bare = `const { createProxyServer } = require('http-proxy-3'); const p = createProxyServer({ target: ${JSON.stringify(target)}, agent: new (require('http').Agent)({ keepAlive: true }) }); require('http').createServer((q, s) => p.web(q, s)).listen(${barePort}, '127.0.0.1');`;
    children.push(spawn(process.execPath, ['-e', bare], { cwd: REPO, stdio: 'ignore' }));
    await waitFor(`http://127.0.0.1:${barePort}/`);
    variants.push({ name: 'bare http-proxy-3', run: async () => ({ http: await wrk(`http://127.0.0.1:${barePort}/`, { seconds, load }) }) });
  }

  const runs = new Map<string, Measured[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < rounds; i++) {
    for (const v of i % 2 === 0 ? variants : [...variants].reverse()) {
      // Progress on stderr: a default run takes minutes.
      process.stderr.write(`round ${i + 1}/${rounds}: ${v.name}\n`);
      runs.get(v.name)!.push(await v.run());
    }
  }
  const http = (name: string) => median(runs.get(name)!.map((m) => m.http));
  const ws = (name: string) => median(runs.get(name)!.map((m) => m.ws!));
  // Per round, one variant against another: drift on the machine cancels within a round.
  const perRound = (a: string, b: string, of: (m: Measured) => Result) => medianOf(runs.get(a)!.map((m, i) => of(m).rps / of(runs.get(b)![i]!).rps));

  console.log(
    `proxy: wrk -t1 -c32 -d${seconds}s, tiny Node app; ${os.availableParallelism()} cores; each row the median of ${rounds} rounds, variants in turns`,
  );
  console.log(pin.note);
  for (const v of variants) printRow(v.name, http(v.name));
  const paced = (name: string) => median(runs.get(name)!.map((m) => m.paced!));
  console.log(`Paced: each of the 32 connections waits ${PACE_MS} ms between requests (a load below every row's capacity)`);
  const pacedRows = variants.filter((v) => runs.get(v.name)![0]!.paced);
  for (const v of pacedRows) printRow(`${v.name}, paced`, paced(v.name));
  console.log('WebSocket echo: 8 connections, one message in flight each; CPU per round trip');
  for (const v of variants) if (v.wsName) printRow(v.wsName, ws(v.name), 'rt/s');

  const direct = http(variants[0]!.name);
  const ratio = (n: number) => {
    const [lectern, nginx] = [variants.find((v) => v.name.startsWith(`Lectern, ${n} `))!.name, variants.find((v) => v.name.startsWith(`nginx, ${n} `))!.name];
    const [l, g] = [http(lectern), http(nginx)];
    return `${n} worker${n > 1 ? 's' : ''}: Lectern/nginx ${(l.rps / g.rps).toFixed(2)}x (per round ${perRound(lectern, nginx, (m) => m.http).toFixed(2)}x; target >= 0.5, goal 0.8)   added p99 over direct: Lectern ${(l.p99 - direct.p99).toFixed(2)} ms (target <= 2), nginx ${(g.p99 - direct.p99).toFixed(2)} ms   WebSocket Lectern/nginx ${(ws(lectern).rps / ws(nginx).rps).toFixed(2)}x (per round ${perRound(lectern, nginx, (m) => m.ws!).toFixed(2)}x; target >= 0.8)`;
  };
  console.log(`ratios at ${ratio(1)}`);
  console.log(`ratios at ${ratio(2)}`);
  const pacedDirect = paced(variants[0]!.name);
  console.log(
    `added latency over direct, paced: ${pacedRows
      .slice(1)
      .map(
        (v) =>
          `${v.name.replace(/ \(.*\)$/, '')} p50 +${(paced(v.name).p50 - pacedDirect.p50).toFixed(2)} ms p99 +${(paced(v.name).p99 - pacedDirect.p99).toFixed(2)} ms`,
      )
      .join('; ')}`,
  );
  for (const n of [1, 2]) {
    const [front, nginx] = [
      variants.find((v) => v.name.startsWith(`Lectern + nginx front, ${n} `))!.name,
      variants.find((v) => v.name.startsWith(`nginx, ${n} `))!.name,
    ];
    const [f, g] = [http(front), http(nginx)];
    console.log(
      `nginx front at ${n} worker${n > 1 ? 's' : ''}: Lectern+front/nginx ${(f.rps / g.rps).toFixed(2)}x (per round ${perRound(front, nginx, (m) => m.http).toFixed(2)}x; target >= 0.5)   added p99 over direct ${(f.p99 - direct.p99).toFixed(2)} ms`,
    );
  }
  if (flags.has('--usage')) await usageComparison(kept);
} finally {
  await kept?.s.close();
  for (const ch of children) if (ch.pid && ch.exitCode === null) process.kill(ch.pid, 'SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
