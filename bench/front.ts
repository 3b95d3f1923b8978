/**
 * The "nginx front" option, prototyped and measured: nginx in front of the apps, asking Lectern
 * with `auth_request` whether each request may pass, and relaying it to the app itself. Rows,
 * wrk -t1 -c32 on the tiny app of proxy.ts, with nginx at 1 and 2 worker processes:
 *   - nginx alone relaying to the app (the baseline each row is divided by),
 *   - nginx + `auth_request` on every request to an auth endpoint (upstream keep-alive to it),
 *   - the same with the endpoint's answer cached by nginx for 1 s (`proxy_cache`, keyed by the
 *     Authorization header and the content guid),
 *   - Lectern's own proxy, with as many proxy workers (`proxy.workers`).
 * Lectern's code is unchanged: the auth endpoint is built here, in this process on a Node http
 * server of its own, from the kept Lectern's services, doing per request what a Lectern
 * `auth_request` endpoint would: identify by the API key (`keys.authenticate(key, { scoped:
 * true })`, a content process's key only for its own item), resolve access
 * (`contentFiles.resolve`), and answer 204 with the viewer's credentials headers, signed, for
 * nginx to hand the app (`auth_request_set`), or 401/403/404. (A real one would read the
 * browser session too; the bench sends keys.) CPU per request counts nginx's processes and
 * this process (the endpoint, or Lectern).
 *
 * What a front gives up that these figures cannot show:
 *   - exact per-process connection counts: nginx balances its own connections per worker and
 *     knows nothing of Connect's max_conns_per_process / load_factor; `max_conns` on an
 *     upstream server counts per nginx worker (without a shared `zone`), and apps whose
 *     processes Lectern starts and stops would need the upstream list rewritten and reloaded
 *     (or nginx Plus's API) as the pool changes;
 *   - sticky process choice: Lectern's cookie naming the process (Shiny's WebSocket follows
 *     the page to the process that holds its state) becomes nginx's `hash`, which moves
 *     sessions whenever the process list changes;
 *   - Lectern's usage (hits, visits, Shiny sessions) and metrics per request: nginx answers
 *     without Lectern seeing the request, the response's status or its Sec-Fetch-Dest, so a
 *     cached or unasked request is recorded nowhere unless nginx's logs are read back;
 *   - WebSocket session accounting: when a session opens and closes, which frees a process's
 *     slot and ends a Shiny session's usage row, happens in nginx;
 *   - revocation delay with the cache: a key revoked, a user locked or an item's access taken
 *     away still passes for up to the cache's lifetime (1 s here) plus Lectern's own 2 s key
 *     cache; and the cache's files hold the key in clear on disk (nginx writes the cache key
 *     into each entry);
 *   - a new viewer's first requests in parallel wait for the cache lock, which nginx looks at
 *     every 500 ms (without the lock they would all ask the endpoint at once);
 *   - cold starts, the "starting" page, 502/503/504 pages with the process's log for the owner,
 *     `Retry-After` when busy, and Lectern's other answers on the way (locked items' pages,
 *     static content and renders, which are not relayed), unless nginx hands each back.
 *
 *   node --import tsx bench/front.ts [seconds] [--rounds=N]
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../src/domain/errors.ts';
import type { User } from '../src/domain/user.ts';
import { keyFromHeaders } from '../src/services/api-key-service.ts';
import { CredentialsSigner } from '../src/services/credentials-signature.ts';
import { CONTENT_PATH } from '../proxy/gateway.ts';
import { freePort } from '../runtimes/local/ports.ts';
import type { AppContext } from '../src/app-context.ts';
import {
  benchArgs,
  lecternRow,
  median,
  medianOf,
  pinLoadApart,
  printRow,
  startLectern,
  startNginx,
  wrk,
  type BenchLectern,
  type Measured,
  type Result,
} from './proxy-kit.ts';

const { seconds, rounds } = benchArgs(3);
const pin = pinLoadApart();
const load = pin.load;

/** What a Lectern `auth_request` endpoint answers for one request: a status and headers. */
async function authAnswer(ctx: AppContext, signer: CredentialsSigner, req: http.IncomingMessage): Promise<[number, Record<string, string>]> {
  const uri = req.headers['x-original-uri'];
  const m = typeof uri === 'string' ? CONTENT_PATH.exec(uri) : null;
  if (!m) return [404, {}];
  const guid = m[1]!.toLowerCase();
  let user: User | undefined;
  const key = keyFromHeaders(req.headers);
  if (key) {
    const found = await ctx.keys.authenticate(key, { scoped: true });
    if (found.scope && (found.scope.contentGuid !== guid || m[2])) return [403, {}];
    user = found.user;
  }
  const r = await ctx.contentFiles.resolve(user, guid, m[2] ? Number(m[2]) : null);
  if (!r.ok) return [r.reason === 'login' ? 401 : r.reason === 'locked' ? 403 : 404, {}];
  if (!user) return [204, {}];
  const credentials = JSON.stringify({ user: user.username, groups: await ctx.groups.namesOf(user) });
  return [204, { 'x-lectern-user': user.username, 'x-lectern-credentials': credentials, 'x-lectern-signature': signer.sign(guid, credentials) }];
}

/** The auth endpoint on a port of its own, counting the requests it answers. */
async function startAuthServer(ctx: AppContext): Promise<{ port: number; calls: () => number; close: () => Promise<void> }> {
  const signer = new CredentialsSigner(ctx.secretKey);
  let calls = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    calls++;
    authAnswer(ctx, signer, req).then(
      ([status, headers]) => res.writeHead(status, headers).end(),
      (err: unknown) => res.writeHead(err instanceof AppError ? err.status : 500).end(),
    );
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    calls: () => calls,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

type Mode = 'alone' | 'auth' | 'cached';

/**
 * nginx with three servers, one per mode. The auth subrequest carries the client's headers
 * (the key) and the original URI, no body; its answer's credentials go to the app, the key
 * does not. `$request_uri` is the main request's in the subrequest too, so the cache key is
 * the key and the content guid.
 */
function frontConf(dir: string, upstream: string, authPort: number, ports: Record<Mode, number>): string {
  const relay = 'proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";';
  const guarded = (cache: string) => `
    location / {
      auth_request /__lectern_auth;
      auth_request_set $lectern_user $upstream_http_x_lectern_user;
      auth_request_set $lectern_credentials $upstream_http_x_lectern_credentials;
      auth_request_set $lectern_signature $upstream_http_x_lectern_signature;
      proxy_set_header Authorization "";
      proxy_set_header X-Lectern-User $lectern_user;
      proxy_set_header RStudio-Connect-Credentials $lectern_credentials;
      proxy_set_header Lectern-Credentials-Signature $lectern_signature;
      ${relay}
    }
    location = /__lectern_auth {
      internal;
      proxy_pass http://lectern_auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_http_version 1.1;
      proxy_set_header Connection "";${cache}
    }`;
  return `  upstream app { server ${upstream}; keepalive 64; }
  upstream lectern_auth { server 127.0.0.1:${authPort}; keepalive 64; }
  proxy_cache_path ${dir}/auth-cache levels=1:2 keys_zone=lectern_auth:1m max_size=16m inactive=10s use_temp_path=off;
  # proxy_cache_lock: the first answer is asked for once, the other requests wait for it; and
  # when it expires, one request asks again while the others take the expired one
  # (use_stale updating: the lock covers new entries only), instead of all 32 connections
  # asking at once. Revocation can take one more round trip to the endpoint.
  map $request_uri $content_guid { "~^/content/(?<g>[0-9a-fA-F-]{36})/" $g; default ""; }
  server { listen 127.0.0.1:${ports.alone}; location / { ${relay} } }
  server { listen 127.0.0.1:${ports.auth};${guarded('')} }
  server { listen 127.0.0.1:${ports.cached};${guarded(`
      proxy_cache lectern_auth;
      proxy_cache_key "$http_authorization $content_guid";
      proxy_cache_valid 204 401 403 404 1s;
      proxy_cache_lock on;
      proxy_cache_use_stale updating;`)} }
`;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-front-'));
let kept: BenchLectern | undefined;
let auth: Awaited<ReturnType<typeof startAuthServer>> | undefined;
try {
  // The app nginx relays to, and the services the auth endpoint asks.
  kept = await startLectern(1);
  auth = await startAuthServer(kept.s.ctx);
  const ports: Record<Mode, number> = { alone: await freePort(), auth: await freePort(), cached: await freePort() };
  const conf = frontConf(work, kept.nginxUpstream, auth.port, ports);
  const contentPath = `/content/${kept.guid}/`;
  const headers = [`Authorization: Key ${kept.s.key}`];
  const modes: [Mode, string][] = [
    ['alone', 'nginx alone'],
    ['auth', 'nginx + auth_request each request'],
    ['cached', 'nginx + auth_request cached 1 s'],
  ];
  const authCalls = new Map<string, number[]>();
  const variants: { name: string; run(): Promise<Measured> }[] = [];
  for (const n of [1, 2]) {
    for (const [mode, label] of modes) {
      const name = `${label}, ${n} worker${n > 1 ? 's' : ''}`;
      variants.push({
        name,
        run: async () => {
          const nginx = await startNginx(path.join(work, `nginx-${n}`), n, conf, `http://127.0.0.1:${ports.alone}/`);
          try {
            const cpu = () => {
              const own = process.cpuUsage();
              return nginx.cpuUs() + own.user + own.system;
            };
            const url = `http://127.0.0.1:${ports[mode]}${contentPath}`;
            // One request first, so the cached mode starts from an answer in the cache, as it
            // runs once a viewer is known: a new one's concurrent first requests wait for the
            // cache lock, which nginx looks at every 500 ms (a p99 of about 0.5 s in a 2 s run).
            await fetch(url, { headers: { authorization: `Key ${kept!.s.key}` } });
            const [before, calls] = [cpu(), auth!.calls()];
            const r = await wrk(url, { seconds, load, headers });
            r.cpuUs = (cpu() - before) / r.requests;
            authCalls.set(name, [...(authCalls.get(name) ?? []), auth!.calls() - calls]);
            return { http: r };
          } finally {
            await nginx.stop();
          }
        },
      });
    }
    variants.push({ name: `Lectern's proxy, ${n} worker${n > 1 ? 's' : ''}`, run: () => lecternRow(n, { seconds, load, ws: false }) });
  }

  const runs = new Map<string, Result[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < rounds; i++) {
    for (const v of i % 2 === 0 ? variants : [...variants].reverse()) {
      // Progress on stderr: a default run takes minutes.
      process.stderr.write(`round ${i + 1}/${rounds}: ${v.name}\n`);
      runs.get(v.name)!.push((await v.run()).http);
    }
  }
  const row = (name: string) => median(runs.get(name)!);
  // Per round, against nginx alone at the same worker count: drift cancels within a round.
  const perRound = (a: string, b: string) => medianOf(runs.get(a)!.map((r, i) => r.rps / runs.get(b)![i]!.rps));

  console.log(
    `front: wrk -t1 -c32 -d${seconds}s, tiny Node app, API key on each request; ${os.availableParallelism()} cores; median of ${rounds} rounds, in turns`,
  );
  console.log(pin.note);
  for (const v of variants) {
    const calls = authCalls.get(v.name);
    printRow(v.name, row(v.name));
    if (calls && v.name.includes('cached')) console.log(`${''.padEnd(44)} calls to the auth endpoint in ${seconds} s: ${medianOf(calls)}`);
  }
  for (const n of [1, 2]) {
    const w = `${n} worker${n > 1 ? 's' : ''}`;
    const base = `nginx alone, ${w}`;
    const parts = [...modes.slice(1).map(([, label]) => `${label}, ${w}`), `Lectern's proxy, ${w}`].map(
      (name) => `${name.replace(`, ${w}`, '')} ${(row(name).rps / row(base).rps).toFixed(2)}x (per round ${perRound(name, base).toFixed(2)}x)`,
    );
    console.log(`ratios to nginx alone at ${w}: ${parts.join('   ')}`);
  }
} finally {
  await auth?.close();
  await kept?.s.close();
  rmSync(work, { recursive: true, force: true });
}
