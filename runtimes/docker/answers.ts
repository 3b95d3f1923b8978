import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until something answers HTTP at `target` (any status), up to `withinMs`. A replica is
 * checked before it is adopted after a restart: on Debian's Docker 20.10 the first connection
 * to a Swarm replica after Lectern restarted was reset in about one run in five, and the next
 * one answered (the cause inside the engine was not found). Checking here keeps that from
 * reaching a viewer.
 */
export async function answers(target: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(target, { signal: AbortSignal.timeout(1000), redirect: 'manual' });
      await res.body?.cancel();
      return true;
    } catch {
      await sleep(100);
    }
  }
  return false;
}
