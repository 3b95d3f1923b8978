import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';
import { parseTarget } from './target.ts';

/**
 * Polls `url` until anything answers HTTP (any status counts: the app is listening), `gone()`
 * says the process ended, or `deadline` (epoch ms) passes. Every backend's start waits this way.
 */
export async function untilAnswered(url: string, deadline: number, gone: () => boolean = () => false): Promise<'up' | 'gone' | 'timeout'> {
  const target = parseTarget(url);
  // A process in a network namespace of its own is reached through its Unix socket.
  const dispatcher = target.socketPath ? new Agent({ connect: { socketPath: target.socketPath } }) : undefined;
  try {
    while (Date.now() < deadline) {
      if (gone()) return 'gone';
      try {
        const res = await fetch(target.url, { signal: AbortSignal.timeout(1000), redirect: 'manual', dispatcher });
        await res.body?.cancel();
        return 'up';
      } catch {
        await sleep(100);
      }
    }
    return gone() ? 'gone' : 'timeout';
  } finally {
    await dispatcher?.close();
  }
}

function lastOutput(tail: readonly string[]): string {
  return `Its last output:\n${tail.join('\n') || '(none)'}`;
}

/** The deploy log's reason when an app ended before it listened. */
export function exitedBeforeListening(code: number | null | undefined, tail: readonly string[]): Error {
  return new Error(`The app exited${code === undefined ? '' : ` with code ${code}`} before it started listening. ${lastOutput(tail)}`);
}

/** The deploy log's reason when an app never answered within its init timeout. */
export function noAnswerWithin(initTimeoutMs: number, tail: readonly string[]): Error {
  return new Error(`The app did not answer HTTP within its init timeout of ${Math.round(initTimeoutMs / 1000)} s. ${lastOutput(tail)}`);
}
