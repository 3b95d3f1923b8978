/**
 * Static deploy latency: from the moment the server starts receiving a bundle to the moment
 * its deploy task has finished (bundle active), measured with the server's own timestamps
 * (upload handler entry, task finished_time), over loopback.
 *
 * Baseline in the same run: the least any server must do with the same archive: write it to
 * disk and extract it with node-tar. The ratio says what Lectern's checks, database writes
 * and task machinery add on top.
 *
 *   node --import tsx bench/static-deploy.ts [iterations]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tar from 'tar';
import { startBenchServer } from './bench-server.ts';

const iterations = Number(process.argv[2] ?? 30);
const fixture = path.resolve(import.meta.dirname, '../../shared/fixtures/bundles/py-static-html.tar.gz');
const archive = readFileSync(fixture);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

async function baseline(): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-base-'));
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const file = path.join(dir, `${i}.tar.gz`);
    writeFileSync(file, archive);
    mkdirSync(path.join(dir, String(i)));
    await tar.extract({ file, cwd: path.join(dir, String(i)) });
    out.push(performance.now() - t0);
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

async function lectern(): Promise<{ total: number[]; upload: number[]; task: number[] }> {
  // Server-side clock: when the upload handler starts receiving.
  const uploadStarted = new Map<string, number>();
  const {
    ctx,
    base,
    auth: headers,
    close,
  } = await startBenchServer({
    beforeListen: (server) =>
      server.http.prependListener('request', (req) => {
        if (req.method === 'POST' && req.url?.endsWith('/bundles')) uploadStarted.set(req.url, Date.now());
      }),
  });
  const c = await (
    await fetch(`${base}/__api__/v1/content`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench-static' }),
    })
  ).json();

  const total: number[] = [];
  const upload: number[] = [];
  const task: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const url = `/__api__/v1/content/${c.guid}/bundles`;
    const up = await (await fetch(`${base}${url}`, { method: 'POST', headers, body: new Uint8Array(archive) })).json();
    const received = uploadStarted.get(url)!;
    const bundle = (await ctx.repos.bundles.byId(Number(c.id), Number(up.id)))!;
    const dep = await (
      await fetch(`${base}/__api__/v1/content/${c.guid}/deploy`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ bundle_id: up.id }),
      })
    ).json();
    for (;;) {
      const t = await (await fetch(`${base}/__api__/v1/tasks/${dep.task_id}?wait=5`, { headers })).json();
      if (t.finished) break;
    }
    const row = (await ctx.repos.tasks.byId(dep.task_id))!;
    total.push(row.finishedTime!.getTime() - received);
    upload.push(bundle.createdTime.getTime() - received);
    task.push(row.finishedTime!.getTime() - row.createdTime.getTime());
  }
  await close();
  return { total, upload, task };
}

const base = await baseline();
const l = await lectern();
const fmt = (x: number) => `${x.toFixed(1)} ms`;
console.log(`static deploy, ${iterations} iterations, bundle ${archive.length} bytes (py-static-html fixture), SQLite`);
console.log(`baseline  write + extract (node-tar)    median ${fmt(median(base))}  p90 ${fmt(p90(base))}`);
console.log(`lectern   upload received -> stored      median ${fmt(median(l.upload))}  p90 ${fmt(p90(l.upload))}`);
console.log(`lectern   deploy task created -> done    median ${fmt(median(l.task))}  p90 ${fmt(p90(l.task))}`);
console.log(`lectern   upload received -> active      median ${fmt(median(l.total))}  p90 ${fmt(p90(l.total))}`);
console.log(`ratio     (upload received -> active) / baseline: ${(median(l.total) / median(base)).toFixed(1)}x`);
