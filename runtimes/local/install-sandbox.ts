import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { InstallerLaunch, InstallSandbox } from '../environments/install-area.ts';
import { BwrapArgs, secretsOf } from './bwrap-args.ts';
import type { NetworkLinks } from './netns.ts';
import { sandboxStdio, startSandbox } from './sandbox-start.ts';

const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

// Where the proxy answers inside a build's namespace (its own loopback: no clash possible).
const PROXY_PORT = 3128;
const PROXY_URL = `http://127.0.0.1:${PROXY_PORT}`;

/**
 * The network a package build gets, from where its packages come: none for an index or
 * repository on disk; otherwise only the server's package proxy, which reaches the package
 * hosts and nothing else. When the administrator routes Lectern through a proxy of their own
 * (HTTPS_PROXY in the server's environment), the build gets the outside through slirp4netns
 * (host loopback cut off) and that proxy; without slirp4netns, the host's network.
 */
function installNetwork(source: string, o: { proxy: boolean; upstreamProxy: boolean; outbound: boolean }): 'none' | 'proxied' | 'outbound' | 'host' {
  if (source.startsWith('file:')) return 'none';
  if (o.proxy && !o.upstreamProxy) return 'proxied';
  return o.outbound ? 'outbound' : 'host';
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
      /** The server's package proxy (package-proxy.ts), as a Unix socket. */
      proxySocket: string | null;
      /** Whether the server's own environment names a proxy (then builds use it instead). */
      upstreamProxy: boolean;
    },
  ) {}

  spawn(l: InstallerLaunch): ChildProcess {
    const net = installNetwork(l.source, {
      proxy: this.o.proxySocket !== null && this.o.network !== null,
      upstreamProxy: this.o.upstreamProxy,
      outbound: this.o.outbound && this.o.network !== null,
    });
    const linked = net === 'outbound' || net === 'proxied';
    const b = new BwrapArgs();
    if (linked) b.ownNetwork();
    else if (net === 'none') b.args.push('--unshare-net');
    b.system(this.o.masked, l.readable);
    for (const w of l.writable) b.bind('--bind', w, w);
    const args = b.command(l.cwd, null, l.account, [l.cmd, ...l.args], BASE_PATH);
    const child = spawn(this.o.bwrapPath, args, { env: { PATH: BASE_PATH }, stdio: sandboxStdio(linked), detached: true });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // pip reads HTTPS_PROXY, R's libcurl the lower-case names: both, and nothing exempt.
    const env =
      net === 'proxied'
        ? { ...l.env, HTTP_PROXY: PROXY_URL, HTTPS_PROXY: PROXY_URL, http_proxy: PROXY_URL, https_proxy: PROXY_URL, NO_PROXY: '', no_proxy: '' }
        : l.env;
    const network = this.o.network;
    // The namespace's links: the package proxy, or the outside behind an administrator's proxy.
    const prepare =
      linked && network
        ? async (pid: number) => {
            const link = await network.link({
              key: `install-${randomBytes(6).toString('hex')}`,
              pid,
              account: { name: '', ...l.account },
              appPort: null,
              apiPort: null,
              ...(net === 'proxied' ? { proxy: { port: PROXY_PORT, socketPath: this.o.proxySocket! }, outbound: false } : { outbound: true }),
            });
            void exited.then(() => link.stop());
          }
        : null;
    // A build whose links failed is killed before it runs: the installer's failure says so.
    void startSandbox(child, exited, secretsOf(env), prepare).catch(() => undefined);
    return child;
  }
}
