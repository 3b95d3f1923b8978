import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOG_BYTES } from '../../runtimes/jobs/job-log.ts';
import { TASK_HEAD_LINES, TASK_TAIL_LINES } from '../../src/services/tasks/task-service.ts';
import { makeBundle } from '../helpers/bundles.ts';
import { DATABASES } from '../helpers/databases.ts';
import { deployBundle, get } from '../helpers/deploy.ts';
import { containersOf, docker } from '../helpers/docker.ts';
import { api, startTestServer, type TestServer } from '../helpers/server.ts';

// A publisher's process can print without end, with or without newlines: Lectern must stay up,
// keep each line and each log bounded, and keep what matters (the end of the output).

const GIB = 1024 ** 3;

const NOISY = `
import sys, threading
from flask import Flask, request
app = Flask(__name__)
state = {}

def flood():
    # 1 GiB without a newline, then one that ends the line, and a marker.
    chunk = b'x' * (1 << 20)
    out = sys.stdout.buffer
    for _ in range(1024):
        out.write(chunk)
    out.write(b'\\nflood done\\n')
    out.flush()
    state['flood'] = True

def many(n):
    out = sys.stdout
    for i in range(n):
        out.write('many %d\\n' % i)
    out.write('many done\\n')
    out.flush()
    state['many'] = True

@app.route('/')
def index():
    return 'up'

@app.route('/flood')
def start_flood():
    threading.Thread(target=flood, daemon=True).start()
    return 'started'

@app.route('/many')
def start_many():
    threading.Thread(target=many, args=(int(request.args['n']),), daemon=True).start()
    return 'started'

@app.route('/spam')
def spam():
    # Numbered lines of about 1000 bytes, printed while the request waits.
    n = int(request.args['n'])
    pad = 'p' * 980
    for i in range(n):
        print('spam %07d %s' % (i, pad))
    print('spam done', flush=True)
    return 'spammed'

@app.route('/state')
def get_state():
    return ','.join(sorted(state))
`;

const flaskBundle = () =>
  makeBundle(
    { 'app.py': NOISY, 'requirements.txt': 'flask\n' },
    { appmode: 'python-api', entrypoint: 'app:app' },
    { python: { version: '3.11.2', package_manager: { name: 'pip', package_file: 'requirements.txt' } } },
  );

/** The largest resident set size seen while `work` runs (sampled). */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number; before: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage().rss), before };
  } finally {
    clearInterval(timer);
  }
}

function logFilesOf(t: TestServer, guid: string, key: string): Record<string, number> {
  const dir = path.join(t.db.dataDir, 'jobs', guid, key);
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.startsWith('log'))
      .map((f) => [f, statSync(path.join(dir, f)).size]),
  );
}

describe.each(DATABASES)('bounded output on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { pythonEnvironmentManagement: false, rEnvironmentManagement: false } } as never });
    key = (await t.createUser('loud', 'publisher')).key;
  });
  afterAll(async () => t?.close());

  const runningJob = async (guid: string) => {
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs`, { key });
    return jobs.body.find((j: { status: number }) => j.status === 0).key as string;
  };
  const logOf = async (guid: string, job: string) =>
    (await api(t.url, 'GET', `/__api__/v1/content/${guid}/jobs/${job}/log`, { key })).body.entries as Array<{ data: string }>;

  it('survives an app writing 1 GiB to stdout without a newline: one cut line in a bounded log', async () => {
    const d = await deployBundle(t.url, key, 'flood', await flaskBundle());
    expect(d.task.code, d.log).toBe(0);
    const job = await runningJob(d.content.guid);
    const started = Date.now();
    const { peak, before } = await peakRss(async () => {
      expect((await get(`${d.content.content_url}flood`, key)).text).toBe('started');
      await expect.poll(async () => (await get(`${d.content.content_url}state`, key)).text, { timeout: 240_000, interval: 500 }).toContain('flood');
    });
    console.log(
      `1 GiB without a newline drained in ${((Date.now() - started) / 1000).toFixed(1)} s; RSS ${Math.round(before / 2 ** 20)} MB before, ${Math.round(peak / 2 ** 20)} MB at most`,
    );

    expect((await api(t.url, 'GET', '/__ping__')).status).toBe(200);
    expect((await get(d.content.content_url, key)).text).toBe('up');
    await expect.poll(async () => (await logOf(d.content.guid, job)).some((e) => e.data === 'flood done'), { timeout: 10_000 }).toBe(true);
    const entries = await logOf(d.content.guid, job);
    const cut = entries.find((e) => e.data.startsWith('xxxx'))!;
    expect(cut.data).toMatch(/^x+ … \[line cut: \d+ more bytes\]$/);
    const kept = cut.data.indexOf(' ');
    expect(kept).toBeLessThanOrEqual(64 * 1024);
    expect(Number(/(\d+) more bytes/.exec(cut.data)![1]) + kept).toBe(GIB);
    const files = logFilesOf(t, d.content.guid, job);
    expect(Object.values(files).reduce((a, b) => a + b, 0)).toBeLessThan(1024 * 1024);
    // Nothing near the gigabyte was ever held.
    expect(peak - before).toBeLessThan(300 * 2 ** 20);
  }, 300_000);

  it('keeps the end of a log that passes its limit, rotated, and the tail follows across the rotation', async () => {
    const d = await deployBundle(t.url, key, 'chatty', await flaskBundle());
    expect(d.task.code, d.log).toBe(0);
    const job = await runningJob(d.content.guid);

    // Follow the log, then print about 20 MB (one rotation) in numbered lines.
    const ac = new AbortController();
    const tail = await fetch(`${t.url}/__api__/v1/content/${d.content.guid}/jobs/${job}/tail`, { headers: { authorization: `Key ${key}` }, signal: ac.signal });
    const reader = tail.body!.getReader();
    const n = 20_000;
    const spammed = get(`${d.content.content_url}spam?n=${n}`, key);
    const decoder = new TextDecoder();
    let buffered = '';
    const seen: number[] = [];
    let rotatedNote = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const events = buffered.split('\n\n');
      buffered = events.pop()!;
      let finished = false;
      for (const ev of events) {
        if (!ev.startsWith('data: ')) continue;
        const entry = JSON.parse(ev.slice(6)) as { data: string };
        const m = /^spam (\d{7}) /.exec(entry.data);
        if (m) seen.push(Number(m[1]));
        if (entry.data.includes('was rotated')) rotatedNote = true;
        if (entry.data === 'spam done') finished = true;
      }
      if (finished) break;
    }
    ac.abort();
    expect((await spammed).text).toBe('spammed');
    expect(rotatedNote).toBe(true);
    expect(seen.length).toBe(n);
    expect(seen.every((v, i) => v === i)).toBe(true);
    const afterSpam = logFilesOf(t, d.content.guid, job);
    expect(Object.keys(afterSpam).sort()).toEqual(['log.1.jsonl', 'log.jsonl']);

    // Many more lines than the log keeps: the last ones are there, the first ones are gone.
    const lines = 1_500_000;
    const { peak, before } = await peakRss(async () => {
      await get(`${d.content.content_url}many?n=${lines}`, key);
      await expect.poll(async () => (await get(`${d.content.content_url}state`, key)).text, { timeout: 240_000, interval: 500 }).toContain('many');
    });
    await expect.poll(async () => (await logOf(d.content.guid, job)).at(-1)?.data, { timeout: 10_000 }).toBe('many done');
    const entries = await logOf(d.content.guid, job);
    expect(entries.at(-2)?.data).toBe(`many ${lines - 1}`);
    expect(entries.some((e) => e.data === 'many 0')).toBe(false);
    const files = logFilesOf(t, d.content.guid, job);
    const current = readFileSync(path.join(t.db.dataDir, 'jobs', d.content.guid, job, 'log.jsonl'), 'utf8');
    expect(JSON.parse(current.slice(0, current.indexOf('\n'))).d).toMatch(/^\[lectern\] The log passed 16 MB and was rotated/);
    expect(Object.keys(files).sort()).toEqual(['log.1.jsonl', 'log.jsonl']);
    for (const size of Object.values(files)) expect(size).toBeLessThanOrEqual(MAX_LOG_BYTES);
    expect(peak - before).toBeLessThan(300 * 2 ** 20);
    expect((await api(t.url, 'GET', '/__ping__')).status).toBe(200);
    expect((await get(d.content.content_url, key)).text).toBe('up');
  }, 300_000);

  it('keeps the beginning and the end of a deploy that prints millions of lines, and says how many were left out', async () => {
    const total = 2_000_000;
    // (The echo ends the line knitr's progress bar leaves open on stdout.)
    const rmd = `---\ntitle: "Loud"\noutput: html_document\n---\n\n\`\`\`{r}\ninvisible(system("echo; seq 1 ${total}"))\n\`\`\`\n\nAfter the noise.\n`;
    const bundle = await makeBundle({ 'loud.Rmd': rmd }, { appmode: 'rmd-static', primary_rmd: 'loud.Rmd' });
    const created = await api(t.url, 'POST', '/__api__/v1/content', { key, body: { name: 'loud-report' } });
    const { uploadChunked } = await import('../helpers/bundles.ts');
    const up = await uploadChunked(t.url, `/__api__/v1/content/${created.body.guid}/bundles`, key, bundle);
    const dep = await api(t.url, 'POST', `/__api__/v1/content/${created.body.guid}/deploy`, { key, body: { bundle_id: up.body.id } });
    const taskId = dep.body.task_id as string;

    // Follow it live as rsconnect does: every index asked for once, lines in order, never twice.
    const live: string[] = [];
    let first = 0;
    let finished: { code: number; error: string } | undefined;
    for (let polls = 0; !finished && polls < 100_000; polls++) {
      const res = await api(t.url, 'GET', `/__api__/v1/tasks/${taskId}?first=${first}&wait=1`, { key });
      expect(res.status).toBe(200);
      expect(res.body.last).toBeGreaterThanOrEqual(first);
      live.push(...(res.body.output as string[]));
      first = res.body.last;
      if (res.body.finished) finished = { code: res.body.code, error: res.body.error };
    }
    expect(finished?.code, `${finished?.error}\n${live.slice(-30).join('\n')}`).toBe(0);
    const numbers = live.filter((l) => /^\d+$/.test(l)).map(Number);
    expect(numbers[0]).toBe(1);
    expect(numbers.at(-1)).toBe(total);
    expect(numbers.every((v, i) => i === 0 || v > numbers[i - 1]!)).toBe(true);
    expect(live.at(-1)).toMatch(/^Done in/);

    // Read again from the start: the first lines, a line saying how many are left out, the last lines.
    const again = await api(t.url, 'GET', `/__api__/v1/tasks/${taskId}?first=0`, { key });
    const out = again.body.output as string[];
    const notes = out.filter((l) => /lines of output omitted/.test(l));
    expect(notes.length).toBe(1);
    const omitted = Number(/… (\d+) lines of output omitted/.exec(notes[0]!)![1]);
    expect(out.length - 1).toBeLessThanOrEqual(TASK_HEAD_LINES + TASK_TAIL_LINES);
    expect(out).toContain('1');
    expect(out).toContain(String(total));
    expect(out.at(-1)).toMatch(/^Done in/);
    // Every line is accounted for: what is shown and what the note counts.
    expect(again.body.last).toBe(out.length - 1 + omitted);
    const rows = await t.server.ctx.db.knex('task_output').where({ task_id: taskId }).count({ n: '*' }).first();
    expect(Number(rows?.n)).toBeLessThanOrEqual(TASK_HEAD_LINES + TASK_TAIL_LINES);

    // The render's own job log is capped too.
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${created.body.guid}/jobs`, { key });
    const render = jobs.body.find((j: { tag: string }) => j.tag === 'render');
    const files = logFilesOf(t, created.body.guid, render.key);
    for (const size of Object.values(files)) expect(size).toBeLessThanOrEqual(MAX_LOG_BYTES);
    expect((await get(created.body.content_url, key)).text).toContain('After the noise.');
  }, 300_000);
});

// The same flood from a container: the engine's frames are split without being held.
describe.each(DATABASES)('bounded container output on %s', (kind) => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer(kind, { config: { runtime: { backend: 'docker', pythonEnvironmentManagement: false } } as never });
    key = (await t.createUser('loud', 'publisher')).key;
  });
  afterAll(async () => t?.close());

  it('survives a container writing 1 GiB without a newline: one cut line in a bounded job log', async () => {
    const d = await deployBundle(t.url, key, 'flood', await flaskBundle());
    expect(d.task.code, d.log).toBe(0);
    const jobs = await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs`, { key });
    const job = jobs.body.find((j: { status: number }) => j.status === 0).key as string;
    const logOf = async () =>
      (await api(t.url, 'GET', `/__api__/v1/content/${d.content.guid}/jobs/${job}/log`, { key })).body.entries as Array<{ data: string }>;
    const started = Date.now();
    // The engine's log API is slower than the app: until Lectern has read all of it.
    const { peak, before } = await peakRss(async () => {
      expect((await get(`${d.content.content_url}flood`, key)).text).toBe('started');
      await expect.poll(async () => (await logOf()).some((e) => e.data === 'flood done'), { timeout: 240_000, interval: 1000 }).toBe(true);
    });
    console.log(
      `1 GiB without a newline through the engine in ${((Date.now() - started) / 1000).toFixed(1)} s; RSS ${Math.round(before / 2 ** 20)} MB before, ${Math.round(peak / 2 ** 20)} MB at most`,
    );
    expect((await api(t.url, 'GET', '/__ping__')).status).toBe(200);
    expect((await get(d.content.content_url, key)).text).toBe('up');
    expect((await logOf()).some((e) => /^x+ … \[line cut: \d+ more bytes\]$/.test(e.data))).toBe(true);
    expect(Object.values(logFilesOf(t, d.content.guid, job)).reduce((a, b) => a + b, 0)).toBeLessThan(1024 * 1024);
    expect(peak - before).toBeLessThan(300 * 2 ** 20);
    // Nor does the engine keep a copy of its own on disk.
    const [c] = (await containersOf(t.db.dataDir)).filter((x) => x.Labels['org.lectern.content'] === d.content.guid);
    const info = await docker.getContainer(c!.Id).inspect();
    expect(info.LogPath ? statSync(info.LogPath).size : 0).toBeLessThan(1024 * 1024);
  }, 300_000);
});
