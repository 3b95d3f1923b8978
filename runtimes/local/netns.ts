import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { INFO_FD } from './bwrap-args.ts';
import type { ContentAccount } from './content-uids.ts';

/**
 * The links of a sandboxed process's own network namespace (bwrap --unshare-net). Inside it,
 * the process sees only its own loopback: no other item's port, nothing listening on the
 * host's loopback. Three links are made, each by a well-kept tool, never by Lectern's code:
 *
 * - the app's port reaches the server as a Unix socket: socat, entered into the namespace
 *   with nsenter and dropped to the item's uid, listens on `<dir>/<key>/app.sock` (a host
 *   directory content cannot see, so it cannot swap the socket for a link to another item's)
 *   and connects to the app's loopback port inside;
 * - Lectern's own API, when CONNECT_SERVER is on the host's loopback, answers at the same
 *   address inside: socat in the namespace forwards to one host-side socat per server;
 * - with `outbound`, slirp4netns gives the namespace a user-mode NAT to the outside, with the
 *   host's loopback cut off (--disable-host-loopback).
 */
export class NetworkLinks {
  readonly root: string;
  private apiBridge: ChildProcess | null = null;
  private readonly slirp: string | null;

  constructor(private readonly mode: 'outbound' | 'none') {
    // Outside the 0700 data directory: the item's uid must reach its own socket directory.
    this.root = mkdtempSync(path.join(os.tmpdir(), 'lectern-net-'));
    chmodSync(this.root, 0o711);
    this.slirp = ['/usr/bin/slirp4netns', '/usr/local/bin/slirp4netns'].find((p) => existsSync(p)) ?? null;
  }

  /** Said at start when outbound was asked for but cannot be given. */
  warning(): string | null {
    return this.mode === 'outbound' && !this.slirp
      ? 'slirp4netns is not installed: content has no network beyond its own loopback (apt-get install slirp4netns, or set LECTERN_CONTENT_NETWORK=none to say so)'
      : null;
  }

  /**
   * Links the namespace of `pid` (bwrap's child) before its command runs. `appPort`: the port a
   * served app listens on inside; its socket path is returned. `apiPort`: the loopback port of
   * Lectern's API as CONNECT_SERVER names it.
   */
  async link(o: {
    key: string;
    pid: number;
    account: ContentAccount;
    appPort: number | null;
    apiPort: number | null;
    proxy?: { port: number; socketPath: string };
    outbound?: boolean;
  }): Promise<{ socketPath: string | null; stop: () => void }> {
    const procs: ChildProcess[] = [];
    const dir = path.join(this.root, o.key);
    const stop = () => {
      for (const p of procs) p.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, o.account.uid, o.account.gid);
      const inside = (argv: string[]) => {
        const p = spawn('nsenter', [`--net=/proc/${o.pid}/ns/net`, '--', 'setpriv', ...dropTo(o.account), ...argv], {
          stdio: ['ignore', 'ignore', 'ignore'],
          env: { PATH: '/usr/bin:/bin' },
        });
        procs.push(p);
        return p;
      };
      let socketPath: string | null = null;
      if (o.appPort !== null) {
        socketPath = path.join(dir, 'app.sock');
        inside(['socat', `UNIX-LISTEN:${socketPath},fork,unlink-early,backlog=${BACKLOG}`, `TCP:127.0.0.1:${o.appPort}`]);
      }
      if (o.apiPort !== null) {
        const api = this.ensureApiBridge(o.apiPort);
        inside(['socat', `TCP-LISTEN:${o.apiPort},bind=127.0.0.1,fork,reuseaddr,backlog=${BACKLOG}`, `UNIX-CONNECT:${api}`]);
      }
      // A package build's one way out: the server's filtering proxy (package-proxy.ts).
      if (o.proxy) inside(['socat', `TCP-LISTEN:${o.proxy.port},bind=127.0.0.1,fork,reuseaddr,backlog=${BACKLOG}`, `UNIX-CONNECT:${o.proxy.socketPath}`]);
      if ((o.outbound ?? this.mode === 'outbound') && this.slirp) procs.push(await startSlirp(this.slirp, o.pid));
      if (socketPath) await appeared(socketPath, procs[0]!);
      return { socketPath, stop };
    } catch (err) {
      stop();
      throw err;
    }
  }

  /** One host-side socat per server: the namespaces' way to Lectern's API on the host's loopback. */
  private ensureApiBridge(port: number): string {
    // As nobody, in a directory of its own (every item's uid may pass, not list): it only
    // ever connects to the one port.
    const dir = path.join(this.root, 'api');
    const sock = path.join(dir, `${port}.sock`);
    if (!this.apiBridge || this.apiBridge.exitCode !== null) {
      mkdirSync(dir, { recursive: true, mode: 0o711 });
      chownSync(dir, NOBODY, NOBODY);
      chmodSync(dir, 0o711);
      this.apiBridge = spawn(
        'setpriv',
        [
          ...dropTo({ name: 'nobody', uid: NOBODY, gid: NOBODY }),
          'socat',
          `UNIX-LISTEN:${sock},fork,unlink-early,mode=666,backlog=${BACKLOG}`,
          `TCP:127.0.0.1:${port}`,
        ],
        { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } },
      );
    }
    return sock;
  }

  close(): void {
    this.apiBridge?.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The pid bwrap reports on its info fd: the process whose namespaces the sandbox is. */
export function namespacePid(child: ChildProcess, exited: Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const info = child.stdio[INFO_FD] as NodeJS.ReadableStream;
    // A sandbox killed early resets the pipe: that is its exit, handled below, not a crash.
    info.on('error', () => undefined);
    info.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      try {
        resolve((JSON.parse(text) as { 'child-pid': number })['child-pid']);
      } catch {
        // not all of it yet
      }
    });
    void exited.then(() => reject(new Error(`The sandbox (bubblewrap) exited before it started the process: ${text.trim() || 'no output'}`)));
  });
}

const NOBODY = 65534;
// socat listens with a backlog of 5 unless told: a burst of viewers would find a Unix socket's
// queue full (EAGAIN) and get 502s. The kernel caps it at net.core.somaxconn.
const BACKLOG = 4096;

/** setpriv to the item's account, with no capabilities, killed if the server dies. */
function dropTo(a: ContentAccount): string[] {
  return [`--reuid=${a.uid}`, `--regid=${a.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--pdeathsig', 'SIGKILL', '--'];
}

/** slirp4netns into the namespace; resolves once it has configured the namespace's tap0. */
function startSlirp(bin: string, pid: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // --exit-fd: it ends when the server does (the pipe closes), not only when killed.
    const p = spawn(bin, ['--configure', '--mtu=65520', '--disable-host-loopback', '--ready-fd=3', '--exit-fd=4', String(pid), 'tap0'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    let err = '';
    for (const s of [p.stderr, p.stdio[3], p.stdio[4]]) s?.on('error', () => undefined);
    p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    p.stdio[3]!.once('data', () => resolve(p));
    p.once('error', reject);
    p.once('exit', (code) => reject(new Error(`slirp4netns exited with code ${code}: ${err.trim()}`)));
  });
}

/**
 * Waits until socat has bound the app's socket (at once on a quiet machine; nsenter, setpriv
 * and socat can take seconds to start on a busy one), or fails if socat died.
 */
async function appeared(socketPath: string, socat: ChildProcess): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (existsSync(socketPath)) return;
    if (socat.exitCode !== null) throw new Error(`The socket bridge (socat) exited with code ${socat.exitCode}: is socat installed (apt-get install socat)?`);
    await sleep(10);
  }
  throw new Error('The socket bridge (socat) did not open its socket within 30 s.');
}
