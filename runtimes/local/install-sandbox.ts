import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { InstallerLaunch, InstallSandbox } from '../environments/install-area.ts';
import { BLOCK_FD, BwrapArgs, SECRETS_FD, secretsOf } from './bwrap-args.ts';
import { namespacePid, type NetworkLinks } from './netns.ts';

const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * The network a package build gets, from where its packages come: none for an index or
 * repository on disk; the outside (slirp4netns, host loopback cut off) for one elsewhere; the
 * host's network only for a source on the host's own loopback (a local mirror), which the
 * namespace could not otherwise reach, or when slirp4netns is missing.
 */
export function installNetwork(source: string, outbound: boolean): 'none' | 'outbound' | 'host' {
  if (source.startsWith('file:')) return 'none';
  const host = new URL(source).hostname;
  if (host === 'localhost' || host === '[::1]' || /^127\./.test(host)) return 'host';
  return outbound ? 'outbound' : 'host';
}

/**
 * Package builds in bubblewrap, as content runs (runtimes/local/sandbox.ts): their own process
 * tree (another process's /proc/<pid>/cmdline or environ is not there to read), the system
 * read-only, only the build area writable, the environment on fd 3 (a proxy password in it
 * stays off command lines), as the item's own account.
 */
export class LocalInstallSandbox implements InstallSandbox {
  constructor(
    private readonly o: {
      bwrapPath: string;
      masked: string[];
      /** For outbound links; null when the server has none (not root). */
      network: NetworkLinks | null;
      outbound: boolean;
    },
  ) {}

  spawn(l: InstallerLaunch): ChildProcess {
    const net = installNetwork(l.source, this.o.outbound && this.o.network !== null);
    const b = new BwrapArgs();
    if (net === 'outbound') b.ownNetwork();
    else if (net === 'none') b.args.push('--unshare-net');
    b.system(this.o.masked, l.readable);
    for (const w of l.writable) b.bind('--bind', w, w);
    const args = b.command(l.cwd, null, l.account, [l.cmd, ...l.args], BASE_PATH);
    const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', 'pipe', ...(net === 'outbound' ? (['pipe', 'pipe'] as const) : [])];
    const child = spawn(this.o.bwrapPath, args, { env: { PATH: BASE_PATH }, stdio, detached: true });
    (child.stdio[SECRETS_FD] as Writable).on('error', () => undefined).end(secretsOf(l.env));
    if (net === 'outbound') void this.link(child, l);
    return child;
  }

  /** Links the build's namespace to the outside, then lets the installer start; if that fails, it never starts. */
  private async link(child: ChildProcess, l: InstallerLaunch): Promise<void> {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const pid = await namespacePid(child, exited);
      const link = await this.o.network!.link({ key: `install-${randomBytes(6).toString('hex')}`, pid, account: { name: '', ...l.account }, appPort: null, apiPort: null });
      void exited.then(() => link.stop());
      (child.stdio as unknown as Writable[])[BLOCK_FD]!.end('1');
    } catch {
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
}
