import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { BASE_PATH, environment, mapper, SANDBOX_PATHS } from '../content-process.ts';
import type { ProcessSpec } from '../runtime.ts';
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

// Merged-/usr systems have these as symlinks into /usr; older ones as directories.
const SYSTEM_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

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

/** Fd 3 is the environment, fd 4 bwrap's info (see Launch). */
export const SECRETS_FD = 3;
export const INFO_FD = 4;

// Names the launcher's bash cannot or must not take from content: read-only shell variables
// (exporting one fails) and the job marker, which is the server's.
const RESERVED = new Set(['BASHOPTS', 'BASH_VERSINFO', 'EUID', 'PPID', 'SHELLOPTS', 'UID', 'LECTERN_JOB']);

/**
 * Reads the environment from fd 3 and execs the content's command with it. The variables
 * (secrets, the process API key) never appear on a command line, where `ps` shows them to
 * every local account, and /proc/<pid>/environ is readable by the item's own uid alone.
 */
const LAUNCHER = `while IFS= read -r -d '' kv; do export -- "$kv"; done <&${SECRETS_FD}; exec ${SECRETS_FD}<&- ${INFO_FD}>&- 5<&-; unset LECTERN_JOB; exec "$@"`;

function secretsOf(env: Record<string, string>): string {
  return Object.entries(env)
    .filter(([k, v]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !RESERVED.has(k) && !v.includes('\0'))
    .map(([k, v]) => `${k}=${v}\0`)
    .join('');
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
    if (opts.accounts) throw new Error('Lectern runs as root without a sandbox: install bubblewrap (apt-get install bubblewrap) or run Lectern as an unprivileged user.');
    const map = mapper(spec, false);
    const [file, ...args] = spec.command.argv;
    // spawn() hands the environment over without a command line; it is the server's own uid.
    return { file: file!, args, env: environment(spec, map, null), cwd: spec.command.cwd, secrets: null, infoFd: false, account: null };
  }
  const account = opts.accounts?.(spec.contentGuid) ?? null;
  const map = mapper(spec, true);
  const env = environment(spec, map, account);
  const a: string[] = ['--die-with-parent', '--new-session', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  const netns = opts.network !== null && account !== null;
  if (netns) a.push('--unshare-net', '--info-fd', String(INFO_FD), '--block-fd', '5');
  // bwrap creates the parents of a mount point with the server's umask (0700 under a strict
  // one), which the run-as account cannot traverse: create them 0755 first.
  const made = new Set<string>(['/']);
  const bind = (flag: string, src: string, dest: string) => {
    const parts = dest.split('/').filter(Boolean).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = '/' + parts.slice(0, i).join('/');
      if (!made.has(dir)) a.push('--perms', '0755', '--dir', dir);
      made.add(dir);
    }
    a.push(flag, src, dest);
    made.add(dest);
  };
  bind('--ro-bind', '/usr', '/usr');
  for (const d of SYSTEM_DIRS) {
    if (!existsSync(d)) continue;
    const st = lstatSync(d);
    if (st.isSymbolicLink()) a.push('--symlink', readlinkSync(d), d);
    else bind('--ro-bind', d, d);
  }
  bind('--ro-bind', '/etc', '/etc');
  // Debian's R packages ask dpkg-query for the versions of the JavaScript libraries they share
  // (rmarkdown's jQuery); the package database says nothing private.
  if (existsSync('/var/lib/dpkg')) bind('--ro-bind', '/var/lib/dpkg', '/var/lib/dpkg');
  for (const d of opts.extraReadOnly) if (existsSync(d)) bind('--ro-bind', d, d);
  for (const m of opts.masked) if (existsSync(m)) a.push('--ro-bind', '/dev/null', m);
  a.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp');
  bind('--ro-bind', spec.mounts.bundleDir, SANDBOX_PATHS.bundle);
  if (spec.mounts.envDir) bind('--ro-bind', spec.mounts.envDir, SANDBOX_PATHS.env);
  if (spec.mounts.outputDir) bind('--bind', spec.mounts.outputDir, SANDBOX_PATHS.output);
  // Until the privilege drop only a fixed PATH: the content's own variables (which a publisher
  // sets, LD_PRELOAD or PATH among them) must not reach anything that still runs as root.
  // The job marker lets a restarted Lectern find and stop this process tree.
  a.push('--chdir', map(spec.command.cwd), '--clearenv', '--setenv', 'PATH', BASE_PATH, '--setenv', 'LECTERN_JOB', spec.key, '--');
  if (account) {
    a.push('/usr/bin/setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--');
  }
  // Only now, as the item's account, the content's environment, read from fd 3 (LAUNCHER).
  a.push('/bin/bash', '--noprofile', '--norc', '-c', LAUNCHER, 'lectern-launch', ...spec.command.argv.map(map));
  return { file: opts.bwrapPath, args: a, env: { PATH: BASE_PATH }, cwd: '/', secrets: secretsOf(env), infoFd: netns, account };
}
