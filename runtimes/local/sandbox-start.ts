import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { BLOCK_FD, SECRETS_FD } from './bwrap-args.ts';
import { namespacePid } from './netns.ts';

/**
 * How content and package builds are let into their bubblewrap sandbox, the same for both:
 * fd 3 carries the environment; with a network namespace to link, bwrap reports the child's
 * pid on fd 4 and holds the command on fd 5 until the links (and limits) are in place.
 */

/** spawn()'s stdio for a sandbox: output piped, then fd 3, and fds 4 and 5 when it is held. */
export function sandboxStdio(held: boolean): Array<'ignore' | 'pipe'> {
  return ['ignore', 'pipe', 'pipe', 'pipe', ...(held ? (['pipe', 'pipe'] as const) : [])];
}

/** Kills a sandbox's process group (it runs detached, as its own group). */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Lets a spawned sandbox run: `prepare` (given the namespace's pid) first when it is held, then
 * the command is released and its environment written. If preparing fails, the sandbox is
 * killed before its command ever ran, and the error goes to the caller.
 */
export async function startSandbox(
  child: ChildProcess,
  exited: Promise<unknown>,
  secrets: string,
  prepare: ((pid: number) => Promise<void>) | null,
): Promise<void> {
  // The extra fds are socket pairs: a sandbox stopped before it read them resets them, which
  // is its exit (seen by `exited`), not a crash.
  for (const s of child.stdio.slice(SECRETS_FD)) (s as NodeJS.EventEmitter | null)?.on('error', () => undefined);
  try {
    if (prepare) {
      await prepare(await namespacePid(child, exited));
      (child.stdio as unknown as Writable[])[BLOCK_FD]!.end('1');
    }
    (child.stdio[SECRETS_FD] as Writable).end(secrets);
  } catch (err) {
    if (child.pid) killGroup(child.pid, 'SIGKILL');
    throw err;
  }
}
