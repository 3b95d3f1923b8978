import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followJobLog, JobLogWriter, logFiles, readJobLog } from '../../runtimes/jobs/job-log.ts';
import type { JobLogEntry } from '../../src/domain/jobs.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'lectern-joblog-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const numbered = (entries: JobLogEntry[]) =>
  entries
    .map((e) => /^line (\d+)$/.exec(e.data))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]));

describe('job logs', () => {
  it('rotate at their limit: two files at most, each within it, and the last lines kept', async () => {
    const dir = tempDir();
    const files = logFiles(dir);
    const w = new JobLogWriter(files, 0, 4096);
    await w.open();
    for (let i = 0; i < 2000; i++) {
      if (!w.line('stdout', `line ${i}`)) await w.drain();
    }
    await w.close();
    expect(readdirSync(dir).sort()).toEqual(['log.1.jsonl', 'log.jsonl']);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).size).toBeLessThanOrEqual(4096);
    const entries = await readJobLog(files, 10_000);
    const n = numbered(entries);
    expect(n.at(-1)).toBe(1999);
    // What is kept is a run of consecutive lines, after a note that earlier output may be missing.
    expect(n.every((v, i) => i === 0 || v === n[i - 1]! + 1)).toBe(true);
    expect(entries[0]!.data).toMatch(/was rotated/);
    expect((await readJobLog(files, 3)).map((e) => e.data)).toEqual(['line 1997', 'line 1998', 'line 1999']);
  });

  it('are followed across rotations: every line once and in order over one rotation, in order over several', async () => {
    const dir = tempDir();
    const files = logFiles(dir);
    const w = new JobLogWriter(files, 0, 64 * 1024);
    await w.open();
    let running = true;
    const ac = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const e of followJobLog(files, async () => running, ac.signal)) {
        const m = /^line (\d+)$/.exec(e.data);
        if (m) seen.push(Number(m[1]));
      }
    })();
    // The follower has the file open before the output comes.
    w.line('stdout', 'line 0');
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    // About 1.5 files: one rotation.
    for (let i = 1; i < 1500; i++) if (!w.line('stdout', `line ${i}`)) await w.drain();
    while (seen.length < 1500) await new Promise((r) => setTimeout(r, 20));
    // Many rotations at once, faster than the follower looks.
    for (let i = 1500; i < 40_000; i++) if (!w.line('stdout', `line ${i}`)) await w.drain();
    await w.close();
    running = false;
    await following;
    expect(seen.slice(0, 1500)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(seen.every((v, i) => i === 0 || v > seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)).toBe(39_999);
  });

  it('never queue more than their bound for a source that does not pause, and say how many lines were lost', async () => {
    const dir = tempDir();
    const files = logFiles(dir);
    const w = new JobLogWriter(files, 0);
    await w.open();
    const long = 'z'.repeat(60 * 1024);
    let refused = 0;
    for (let i = 0; i < 1000; i++) if (!w.line('stdout', long)) refused++;
    expect(refused).toBeGreaterThan(0);
    await w.close();
    const entries = await readJobLog(files, 10_000);
    const lostNote = entries.find((e) => /lines were lost: the job wrote faster than its log could be stored/.test(e.data));
    expect(lostNote).toBeDefined();
    const lost = Number(/(\d+) lines were lost/.exec(lostNote!.data)![1]);
    expect(entries.filter((e) => e.data === long).length + lost).toBe(1000);
  });
});
