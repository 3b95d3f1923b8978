/**
 * The catalog at 10,000 items, on SQLite (or PostgreSQL: LECTERN_BENCH_DATABASE_URL).
 *
 * A viewer who may see a third of the items (shared with everyone logged in) and a tag tree of
 * 60 tags. Server time, as the client sees it on loopback, for: the catalog's first page (HTML),
 * a filtered search page (free words, a type and a tag), and the same search as JSON
 * (`GET /v1/search/content`). Baseline in the same run: `GET /__health__` with its database
 * ping, the least any request costs; each figure is also given as a ratio to it.
 *
 *   node --import tsx bench/catalog.ts [items] [requests]
 */
import { performance } from 'node:perf_hooks';
import { startBenchServer } from './bench-server.ts';

const ITEMS = Number(process.argv[2] ?? 10_000);
const REQUESTS = Number(process.argv[3] ?? 200);
const MODES = ['shiny', 'rmd-static', 'python-dash', 'jupyter-static', 'static', 'python-fastapi', 'quarto-static', 'api'];
const WORDS = ['sales', 'churn', 'forecast', 'inventory', 'revenue', 'north', 'south', 'weekly', 'model', 'dashboard'];

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function timed(url: string, headers: Record<string, string>, check: (status: number, body: string) => void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < REQUESTS + 10; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers, redirect: 'manual' });
    const body = await res.text();
    const ms = performance.now() - t0;
    check(res.status, body);
    if (i >= 10) out.push(ms); // the first ten warm the caches and the JIT
  }
  return out;
}

async function main() {
  const url = process.env.LECTERN_BENCH_DATABASE_URL;
  const bench = await startBenchServer({ overrides: { reports: { tickSeconds: 300, leaseSeconds: 900 }, ...(url ? { database: { url } } : {}) } });
  const { ctx } = bench;
  await bench.server.scheduler.stop();
  const knex = ctx.db.knex;
  const owner = await ctx.users.byUsername('bench');
  const viewer = (await ctx.users.create({ userId: null, via: 'system' }, { username: 'viewer', role: 'viewer', password: 'viewer-password-123' })).user;

  // Tags: 6 categories of 10 tags.
  const now = new Date();
  const tagIds: number[] = [];
  for (let c = 0; c < 6; c++) {
    const [cat] = (await knex('tags')
      .insert({ name: `Category ${c}`, parent_id: null, created_time: now, updated_time: now })
      .returning('id')) as Array<{ id: number }>;
    for (let t = 0; t < 10; t++) {
      const [tag] = (await knex('tags')
        .insert({ name: `Tag ${c}.${t}`, parent_id: cat!.id, created_time: now, updated_time: now })
        .returning('id')) as Array<{
        id: number;
      }>;
      tagIds.push(tag!.id);
    }
  }
  // Items straight into the table (deploying 10,000 bundles is not what is measured).
  const t0 = performance.now();
  for (let i = 0; i < ITEMS; i += 500) {
    const rows = [];
    for (let j = i; j < Math.min(ITEMS, i + 500); j++) {
      const w = (k: number) => WORDS[(j * 7 + k * 3) % WORDS.length];
      rows.push({
        guid: crypto.randomUUID(),
        name: `item-${j}`,
        title: `${w(0)} ${w(1)} ${j}`,
        description: `A ${w(2)} report about ${w(3)}.`,
        owner_id: owner.id,
        access_type: j % 3 === 0 ? 'logged_in' : 'acl',
        app_mode: MODES[j % MODES.length],
        created_time: now,
        updated_time: now,
        last_deployed_time: new Date(now.getTime() - j * 60_000),
      });
    }
    const ids = (await knex('content').insert(rows).returning('id')) as Array<{ id: number }>;
    await knex('content_tags').insert(ids.map((r, k) => ({ content_id: r.id, tag_id: tagIds[(i + k) % tagIds.length]! })));
  }
  console.log(`${ITEMS} items, ${tagIds.length} tags made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // A browser session for the viewer, as the login form makes one.
  const login = await fetch(`${bench.base}/login`);
  const jar = (login.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const done = await fetch(`${bench.base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, username: 'viewer', password: 'viewer-password-123', next: '/' }).toString(),
  });
  const session = (done.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const browser = { cookie: session };
  const viewerKey = (await ctx.keys.create({ userId: null, via: 'system' }, viewer, 'bench')).secret;

  const ok = (what: string) => (status: number, body: string) => {
    if (status !== 200) throw new Error(`${what}: ${status} ${body.slice(0, 200)}`);
  };
  const filter = new URLSearchParams({ q: 'sales north', type: 'shiny', tag: 'Category 0/Tag 0.0' }).toString();
  const runs: Array<[string, number[]]> = [
    ['GET /__health__ (baseline)', await timed(`${bench.base}/__health__`, {}, ok('health'))],
    ['catalog, first page (HTML)', await timed(`${bench.base}/`, browser, ok('catalog'))],
    ['catalog, filtered (HTML)', await timed(`${bench.base}/?${filter}`, browser, ok('filtered'))],
    [
      'search API, filtered (JSON)',
      await timed(
        `${bench.base}/__api__/v1/search/content?${new URLSearchParams({ q: 'sales north type:shiny tag:"Category 0/Tag 0.0"' })}`,
        { authorization: `Key ${viewerKey}` },
        ok('api'),
      ),
    ],
  ];
  const base = pct(runs[0]![1], 0.5);
  console.log(`${REQUESTS} requests each, one at a time, as viewer (sees ${Math.ceil(ITEMS / 3)} of ${ITEMS})`);
  for (const [name, ms] of runs) {
    console.log(
      `${name.padEnd(30)} p50 ${pct(ms, 0.5).toFixed(1)} ms  p95 ${pct(ms, 0.95).toFixed(1)} ms  (p50 ${(pct(ms, 0.5) / base).toFixed(1)}× baseline)`,
    );
  }
  await bench.close();
}

await main();
