import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../src/services/usage/batcher.ts';

function batcher(o: { flushRows?: number; flushMs?: number; maxRows?: number } = {}, fail = false) {
  const written: number[][] = [];
  const errors: number[] = [];
  const b = new Batcher<number>(
    async (rows) => {
      if (fail) throw new Error('database gone');
      written.push(rows);
    },
    { flushRows: o.flushRows ?? 100, flushMs: o.flushMs ?? 1000, maxRows: o.maxRows ?? 1000 },
    (_err, n) => errors.push(n),
  );
  return { b, written, errors };
}

describe('the usage batcher', () => {
  afterEach(() => void vi.useRealTimers());

  it('writes nothing until a batch is full, then the whole batch at once', async () => {
    const { b, written } = batcher({ flushRows: 3 });
    b.add(1);
    b.add(2);
    expect(written).toEqual([]);
    b.add(3);
    await b.flush();
    expect(written).toEqual([[1, 2, 3]]);
  });

  it('writes a partial batch when its timer fires, and holds no timer when idle', async () => {
    vi.useFakeTimers();
    const { b, written } = batcher({ flushMs: 1000 });
    expect(vi.getTimerCount()).toBe(0);
    b.add(1);
    b.add(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(written).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(written).toEqual([[1, 2]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('writes the rest on close and drops what comes after', async () => {
    const { b, written } = batcher();
    b.add(1);
    await b.close();
    expect(written).toEqual([[1]]);
    b.add(2);
    await b.flush();
    expect(written).toEqual([[1]]);
    expect(b.dropped).toBe(1);
  });

  it('holds at most its cap while a write is slow, and counts what it dropped', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const written: number[][] = [];
    const b = new Batcher<number>(
      async (rows) => {
        await gate;
        written.push(rows);
      },
      { flushRows: 2, flushMs: 1000, maxRows: 3 },
      () => undefined,
    );
    b.add(1);
    b.add(2); // a batch, now waiting on the slow write: it still counts against the cap
    for (let i = 3; i <= 10; i++) b.add(i);
    expect(b.dropped).toBe(7);
    release();
    await b.flush();
    expect(written).toEqual([[1, 2], [3]]);
    // Written rows make room again.
    b.add(11);
    await b.flush();
    expect(written.at(-1)).toEqual([11]);
    expect(b.dropped).toBe(7);
  });

  it('drops a batch whose write failed, once, and says so', async () => {
    const { b, written, errors } = batcher({}, true);
    b.add(1);
    b.add(2);
    await b.flush();
    expect(written).toEqual([]);
    expect(errors).toEqual([2]);
    expect(b.dropped).toBe(2);
    await b.flush();
    expect(errors).toEqual([2]);
  });
});
