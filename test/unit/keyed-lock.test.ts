import { describe, expect, it } from 'vitest';
import { KeyedLock, KeyedShare, SharedLock } from '../../src/domain/keyed-lock.ts';

/** A promise settled from outside, to hold work open while a test looks. */
function gate<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedLock', () => {
  it('runs work under one key one at a time, in the order asked', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const first = gate();
    const a = lock.run('k', async () => {
      order.push('a start');
      await first.promise;
      order.push('a end');
    });
    const b = lock.run('k', async () => {
      order.push('b');
    });
    await tick();
    expect(order).toEqual(['a start']);
    first.resolve();
    await Promise.all([a, b]);
    expect(order).toEqual(['a start', 'a end', 'b']);
  });

  it('runs different keys side by side', async () => {
    const lock = new KeyedLock<number>();
    const held = gate();
    const order: number[] = [];
    const one = lock.run(1, async () => {
      await held.promise;
      order.push(1);
    });
    await lock.run(2, async () => {
      order.push(2);
    });
    expect(order).toEqual([2]);
    held.resolve();
    await one;
    expect(order).toEqual([2, 1]);
  });

  it('passes a failure to its caller only, and the next work still runs', async () => {
    const lock = new KeyedLock();
    const failed = lock.run('k', () => Promise.reject(new Error('no')));
    const next = lock.run('k', async () => 'ran');
    await expect(failed).rejects.toThrow('no');
    await expect(next).resolves.toBe('ran');
  });

  it('lists the keys with work and forgets them once idle', async () => {
    const lock = new KeyedLock();
    const held = gate();
    const p = lock.run('a', () => held.promise);
    expect(lock.keys()).toEqual(['a']);
    let idle = false;
    const waiting = lock.idle().then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    held.resolve();
    await p;
    await waiting;
    expect(lock.keys()).toEqual([]);
  });

  it('idle() also waits for work queued while it waits', async () => {
    const lock = new KeyedLock();
    const first = gate();
    const second = gate();
    const done: string[] = [];
    void lock.run('a', async () => {
      await first.promise;
      done.push('a');
    });
    const idle = lock.idle().then(() => done.push('idle'));
    void lock.run('b', async () => {
      await second.promise;
      done.push('b');
    });
    first.resolve();
    await tick();
    second.resolve();
    await idle;
    expect(done).toEqual(['a', 'b', 'idle']);
  });
});

describe('KeyedShare', () => {
  it('gives concurrent callers of one key the same promise, and starts anew once it settled', async () => {
    const share = new KeyedShare<string, number>();
    let made = 0;
    const held = gate<number>();
    const make = () => {
      made++;
      return held.promise;
    };
    const a = share.run('k', make);
    const b = share.run('k', make);
    expect(a).toBe(b);
    expect(share.current('k')).toBe(a);
    held.resolve(7);
    await expect(a).resolves.toBe(7);
    await tick();
    expect(share.current('k')).toBeUndefined();
    await share.run('k', async () => ++made);
    expect(made).toBe(2);
  });

  it('forgets a failure so the next caller tries again', async () => {
    const share = new KeyedShare<string, number>({ keepResults: true });
    await expect(share.run('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await tick();
    expect(share.current('k')).toBeUndefined();
    await expect(share.run('k', async () => 1)).resolves.toBe(1);
  });

  it('with keepResults, keeps a result until forget()', async () => {
    const share = new KeyedShare<string, number>({ keepResults: true });
    let made = 0;
    await share.run('k', async () => ++made);
    await tick();
    await expect(share.run('k', async () => ++made)).resolves.toBe(1);
    expect(share.keys()).toEqual(['k']);
    share.forget('k');
    await expect(share.run('k', async () => ++made)).resolves.toBe(2);
  });

  it('does not drop a newer promise when an older, forgotten one fails', async () => {
    const share = new KeyedShare<string, number>({ keepResults: true });
    const old = gate<number>();
    const first = share.run('k', () => old.promise);
    share.forget('k');
    const second = share.run('k', async () => 2);
    old.reject(new Error('late'));
    await expect(first).rejects.toThrow('late');
    await tick();
    expect(share.current('k')).toBe(second);
  });
});

describe('SharedLock', () => {
  it('lets shared work run together, and exclusive work alone after it', async () => {
    const lock = new SharedLock();
    const order: string[] = [];
    const a = gate();
    const b = gate();
    const s1 = lock.shared(async () => {
      order.push('s1 start');
      await a.promise;
      order.push('s1 end');
    });
    const s2 = lock.shared(async () => {
      order.push('s2 start');
      await b.promise;
      order.push('s2 end');
    });
    const x = lock.exclusive(async () => {
      order.push('x');
    });
    await tick();
    expect(order).toEqual(['s1 start', 's2 start']);
    a.resolve();
    await tick();
    expect(order).toEqual(['s1 start', 's2 start', 's1 end']);
    b.resolve();
    await Promise.all([s1, s2, x]);
    expect(order).toEqual(['s1 start', 's2 start', 's1 end', 's2 end', 'x']);
  });

  it('holds back shared work asked for after a waiting exclusive turn, and survives failures', async () => {
    const lock = new SharedLock();
    const order: string[] = [];
    const a = gate();
    const s1 = lock.shared(async () => {
      await a.promise;
      order.push('s1');
    });
    const x = lock.exclusive(async () => {
      order.push('x');
      throw new Error('boom');
    });
    const s2 = lock.shared(async () => {
      order.push('s2');
    });
    await tick();
    expect(order).toEqual([]);
    a.resolve();
    await s1;
    await expect(x).rejects.toThrow('boom');
    await s2;
    expect(order).toEqual(['s1', 'x', 's2']);
  });
});
