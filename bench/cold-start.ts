/**
 * Cold start, request -> first byte, for Shiny, Plumber, Flask and FastAPI, on each backend.
 *
 * Baseline, same run: the bare framework start of the same app, with the recipe's own command
 * run directly (no Lectern, no sandbox): spawn -> first byte of GET /.
 * Lectern: the app is deployed once, its process stopped, then one request to
 * /content/{guid}/ is timed: sandbox or container, start, readiness probe and proxy.
 * Also: a warm redeploy of the same bundle (environment cached: a cached venv locally, cached
 * image layers in Docker), task created -> finished. The Docker figures are also given as a
 * ratio to the local backend's, measured in the same run.
 *
 *   node --import tsx bench/cold-start.ts [iterations] [backends, default local,docker]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tar from 'tar';
import { recipeFor } from '../runtimes/app-modes/index.ts';
import { freePort } from '../runtimes/local/ports.ts';
import type { ServedRecipe } from '../runtimes/app-modes/recipe.ts';
import { parseManifest } from '../src/domain/manifest.ts';
import { startBenchServer } from './bench-server.ts';

const iterations = Number(process.argv[2] ?? 5);
const FIXTURES = path.resolve(import.meta.dirname, '../../shared/fixtures/bundles');
const APPS = [
  { name: 'shiny', file: 'r-shiny.tar.gz', python: undefined as string | undefined, settings: {} },
  { name: 'plumber', file: 'r-plumber.tar.gz', settings: {} },
  { name: 'flask', file: 'py-flask-api.tar.gz', settings: {} },
  { name: 'fastapi', file: 'py-fastapi.tar.gz', settings: { default_py_environment_management: false } },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function firstByte(url: string, headers: Record<string, string> = {}, deadlineMs = 60_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      const res = await fetch(url, { headers });
      await res.body?.cancel();
      if (res.status < 500) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > deadlineMs) throw new Error(`no answer from ${url}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function bare(file: string): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-bare-'));
  await tar.x({ file: path.join(FIXTURES, file), cwd: dir });
  const manifest = parseManifest(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const recipe = recipeFor(manifest.metadata.appmode) as ServedRecipe;
  const port = await freePort();
  const python = manifest.metadata.appmode.startsWith('python');
  const cmd = recipe.command({
    bundleDir: dir,
    primaryFile: null,
    manifest,
    host: '127.0.0.1',
    port,
    basePath: '/',
    outputDir: '',
    environment: { key: '', dir: null, reused: true, executable: python ? '/usr/bin/python3' : '/usr/bin/R', env: {} },
  });
  const t0 = performance.now();
  const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), {
    cwd: cmd.cwd,
    env: { PATH: '/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', ...cmd.env },
    stdio: 'ignore',
    detached: true,
  });
  await firstByte(`http://127.0.0.1:${port}${recipe.readinessPath}`);
  const ms = performance.now() - t0;
  process.kill(-child.pid!, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const backends = (process.argv[3] ?? 'local,docker').split(',') as Array<'local' | 'docker'>;

interface Figures {
  cold: number;
  warm: number;
  first: number;
}

/** One server on `backend`: each app deployed, then cold starts and warm redeploys, medians. */
async function measure(backend: 'local' | 'docker'): Promise<Map<string, Figures>> {
  const { ctx, base, auth, close } = await startBenchServer({ overrides: { runtime: { backend } } as never });
  const json = { ...auth, 'content-type': 'application/json' };

  async function deploy(guid: string, bundleId: string | null) {
    const dep = await (
      await fetch(`${base}/__api__/v1/content/${guid}/deploy`, { method: 'POST', headers: json, body: JSON.stringify(bundleId ? { bundle_id: bundleId } : {}) })
    ).json();
    for (;;) {
      const t = await (await fetch(`${base}/__api__/v1/tasks/${dep.task_id}?wait=10`, { headers: auth })).json();
      if (t.finished) {
        if (t.code !== 0) throw new Error(t.error);
        const row = (await ctx.repos.tasks.byId(dep.task_id))!;
        return row.finishedTime!.getTime() - row.createdTime.getTime();
      }
    }
  }

  console.log(`${backend}: ${JSON.stringify(ctx.runtime.summary)}`);
  const out = new Map<string, Figures>();
  const guids: string[] = [];
  for (const app of APPS) {
    const c = await (
      await fetch(`${base}/__api__/v1/content`, { method: 'POST', headers: json, body: JSON.stringify({ name: `bench-${app.name}`, ...app.settings }) })
    ).json();
    guids.push(c.guid);
    const up = await (
      await fetch(`${base}/__api__/v1/content/${c.guid}/bundles`, {
        method: 'POST',
        headers: auth,
        body: new Uint8Array(readFileSync(path.join(FIXTURES, app.file))),
      })
    ).json();
    const first = await deploy(c.guid, up.id);
    const warm: number[] = [];
    const cold: number[] = [];
    for (let i = 0; i < iterations; i++) {
      warm.push(await deploy(c.guid, null));
      await ctx.runtime.runner.stopContent(c.guid);
      cold.push(await firstByte(`${base}/content/${c.guid}/`, auth));
    }
    out.set(app.name, { cold: median(cold), warm: median(warm), first });
  }
  // Deleting the content removes its containers and images too.
  for (const guid of guids) await fetch(`${base}/__api__/v1/content/${guid}`, { method: 'DELETE', headers: auth });
  await ctx.runtime.runner.settle();
  await close();
  return out;
}

console.log(`cold start, request -> first byte; median of ${iterations}; 2 cores`);
const bareMs = new Map<string, number>();
for (const app of APPS) {
  const runs: number[] = [];
  for (let i = 0; i < iterations; i++) runs.push(await bare(app.file));
  bareMs.set(app.name, median(runs));
}
const results = new Map<string, Map<string, Figures>>();
for (const b of backends) results.set(b, await measure(b));
for (const app of APPS) {
  const bareStart = bareMs.get(app.name)!;
  const local = results.get('local')?.get(app.name);
  for (const [b, figures] of results) {
    const f = figures.get(app.name)!;
    const vsLocal =
      b !== 'local' && local ? `   cold ${(f.cold / local.cold).toFixed(2)}x local, warm redeploy ${(f.warm / local.warm).toFixed(2)}x local` : '';
    console.log(
      `${app.name.padEnd(8)} ${b.padEnd(6)} bare ${bareStart.toFixed(0).padStart(5)} ms   cold start ${f.cold.toFixed(0).padStart(5)} ms (${(f.cold / bareStart).toFixed(2)}x bare)   first deploy ${f.first} ms   warm redeploy ${f.warm} ms${vsLocal}`,
    );
  }
}
