import { BASE_PATH, environment, mapper, SANDBOX_PATHS } from '../content-process.ts';
import type { ProcessSpec } from '../backend.ts';
import { BwrapArgs, secretsOf } from './bwrap-args.ts';
import type { ContentAccount } from './content-uids.ts';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

export interface SandboxOptions {
  /** bwrap: a private mount namespace; none: a plain child process (not as root). */
  mode: 'bwrap' | 'none';
  bwrapPath: string;
  /** Set when Lectern runs as root: the account of each content item (a uid of its own). */
  accounts: ((contentGuid: string) => ContentAccount) | null;
  /**
   * A network namespace per process (bwrap as root): it cannot reach another item's port or
   * the host's loopback; `outbound` adds a link to the outside (local/netns.ts). Null: the
   * host's network.
   */
  network: 'outbound' | 'none' | null;
  /** Files to hide even inside bound system directories (the config file under /etc). */
  masked: string[];
  /** Installations outside /usr that content needs, bound read-only at the same path (Quarto in /opt). */
  extraReadOnly: string[];
}

export interface Launch {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** For the launcher to read on fd 3 (NUL-separated NAME=value): the content's environment. */
  secrets: string | null;
  /** bwrap writes `{"child-pid": N}` on fd 4: the process whose network namespace to link. */
  infoFd: boolean;
  /** The account the content runs as, if not the server's. */
  account: ContentAccount | null;
}

/**
 * How to start a content process. With bubblewrap it sees only the system directories, its
 * bundle (read-only), its environment (read-only), its render output (if any) and a private
 * /tmp: never the data directory, the database, other content or the server's secret key. Its
 * process tree is private and it dies with Lectern. As root, it then drops to the run-as
 * account with setpriv, with no capabilities and no way back (no_new_privs).
 */
export function buildLaunch(spec: ProcessSpec, opts: SandboxOptions): Launch {
  if (opts.mode === 'none') {
    if (opts.accounts)
      throw new Error('Lectern runs as root without a sandbox: install bubblewrap (apt-get install bubblewrap) or run Lectern as an unprivileged user.');
    const map = mapper(spec, false);
    const [file, ...args] = spec.command.argv;
    // spawn() hands the environment over without a command line; it is the server's own uid.
    return { file: file!, args, env: environment(spec, map, null), cwd: spec.command.cwd, secrets: null, infoFd: false, account: null };
  }
  const account = opts.accounts?.(spec.contentGuid) ?? null;
  const map = mapper(spec, true);
  const env = environment(spec, map, account);
  const b = new BwrapArgs();
  const netns = opts.network !== null && account !== null;
  if (netns) b.ownNetwork();
  b.system(opts.masked, opts.extraReadOnly);
  b.bind('--ro-bind', spec.mounts.bundleDir, SANDBOX_PATHS.bundle);
  if (spec.mounts.envDir) b.bind('--ro-bind', spec.mounts.envDir, SANDBOX_PATHS.env);
  if (spec.mounts.outputDir) b.bind('--bind', spec.mounts.outputDir, SANDBOX_PATHS.output);
  // Only after the drop to the item's account, the content's environment, read from fd 3.
  const a = b.command(map(spec.command.cwd), spec.key, account, spec.command.argv.map(map), BASE_PATH);
  return { file: opts.bwrapPath, args: a, env: { PATH: BASE_PATH }, cwd: '/', secrets: secretsOf(env), infoFd: netns, account };
}
