import { describe, expect, it } from 'vitest';
import { ContentUnavailable, CrashBackoff } from '../../runtimes/serving/crash-backoff.ts';

describe('crash back-off', () => {
  it('waits 1 s, 2 s, 4 s ... up to 60 s after each early exit, and forgets after a minute lived', () => {
    let now = 0;
    const b = new CrashBackoff(() => now);
    const waitOf = () => {
      try {
        b.check('g/1');
        return 0;
      } catch (err) {
        expect(err).toBeInstanceOf(ContentUnavailable);
        return (err as ContentUnavailable).retryAfterSeconds;
      }
    };
    expect(waitOf()).toBe(0);
    b.exited('g/1', 500, false);
    expect(waitOf()).toBe(1);
    b.exited('g/1', 500, false);
    expect(waitOf()).toBe(2);
    for (let i = 0; i < 10; i++) b.exited('g/1', 500, false);
    expect(waitOf()).toBe(60);
    now += 60_000;
    expect(waitOf()).toBe(0);
    b.exited('g/1', 60_000, false);
    b.exited('g/1', 500, false);
    expect(waitOf()).toBe(1);
  });

  it('ignores exits Lectern asked for, and a deploy clears it', () => {
    const b = new CrashBackoff(() => 0);
    b.exited('g/1', 10, true);
    expect(() => b.check('g/1')).not.toThrow();
    b.exited('g/1', 10, false);
    expect(() => b.check('g/1')).toThrow(ContentUnavailable);
    b.clear('g/1');
    expect(() => b.check('g/1')).not.toThrow();
  });
});
