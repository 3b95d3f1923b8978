import { existsSync, lstatSync, readlinkSync } from 'node:fs';

/**
 * What every bubblewrap sandbox of Lectern's shares, content and package builds alike: the
 * system directories read-only, a private /proc, /dev and /tmp, the privilege drop, and the
 * launcher that takes the environment from a file descriptor instead of a command line.
 */

/** Fd 3 carries the environment, fd 4 bwrap's info (the child's pid), fd 5 holds the command back. */
export const SECRETS_FD = 3;
export const INFO_FD = 4;
export const BLOCK_FD = 5;

// Merged-/usr systems have these as symlinks into /usr; older ones as directories.
const SYSTEM_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

// Names the launcher's bash cannot or must not take from content: read-only shell variables
// (exporting one fails) and the job marker, which is the server's.
const RESERVED = new Set(['BASHOPTS', 'BASH_VERSINFO', 'EUID', 'PPID', 'SHELLOPTS', 'UID', 'LECTERN_JOB']);

/**
 * Reads the environment from fd 3 and execs the command with it. The variables (secrets, the
 * process API key, a proxy password) never appear on a command line, where `ps` shows them to
 * every local account; /proc/<pid>/environ is readable by the process's own uid alone.
 */
const LAUNCHER = `while IFS= read -r -d '' kv; do export -- "$kv"; done <&${SECRETS_FD}; exec ${SECRETS_FD}<&- ${INFO_FD}>&- ${BLOCK_FD}<&-; unset LECTERN_JOB; exec "$@"`;

/** The environment as the launcher reads it: NAME=value, NUL-terminated. */
export function secretsOf(env: Record<string, string | undefined>): string {
  return Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(e[0]) && !RESERVED.has(e[0]) && !e[1].includes('\0'))
    .map(([k, v]) => `${k}=${v}\0`)
    .join('');
}

/** setpriv to an account: no groups, no capabilities, no way back (no_new_privs). */
function dropPrivileges(account: { uid: number; gid: number }): string[] {
  return [
    '/usr/bin/setpriv',
    `--reuid=${account.uid}`,
    `--regid=${account.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
  ];
}

/** A bwrap command line under construction. */
export class BwrapArgs {
  readonly args: string[] = ['--die-with-parent', '--new-session', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  // bwrap creates the parents of a mount point with the server's umask (0700 under a strict
  // one), which the run-as account cannot traverse: create them 0755 first.
  private readonly made = new Set<string>(['/']);

  bind(flag: '--ro-bind' | '--bind', src: string, dest: string): this {
    const parts = dest.split('/').filter(Boolean).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = '/' + parts.slice(0, i).join('/');
      if (!this.made.has(dir)) this.args.push('--perms', '0755', '--dir', dir);
      this.made.add(dir);
    }
    this.args.push(flag, src, dest);
    this.made.add(dest);
    return this;
  }

  /** The system read-only, files hidden (`masked`), installations outside /usr, private /proc, /dev and /tmp. */
  system(masked: readonly string[], extraReadOnly: readonly string[]): this {
    this.bind('--ro-bind', '/usr', '/usr');
    for (const d of SYSTEM_DIRS) {
      if (!existsSync(d)) continue;
      const st = lstatSync(d);
      if (st.isSymbolicLink()) this.args.push('--symlink', readlinkSync(d), d);
      else this.bind('--ro-bind', d, d);
    }
    this.bind('--ro-bind', '/etc', '/etc');
    // Debian's R packages ask dpkg-query for the versions of the JavaScript libraries they share
    // (rmarkdown's jQuery); the package database says nothing private.
    if (existsSync('/var/lib/dpkg')) this.bind('--ro-bind', '/var/lib/dpkg', '/var/lib/dpkg');
    this.args.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp');
    // After the private /tmp, so that what is bound below it (an index on disk) is not hidden.
    for (const d of extraReadOnly) if (existsSync(d)) this.bind('--ro-bind', d, d);
    for (const m of masked) if (existsSync(m)) this.args.push('--ro-bind', '/dev/null', m);
    return this;
  }

  /** A namespace of its own for the network, its pid on the info fd, the command held until linked. */
  ownNetwork(): this {
    this.args.push('--unshare-net', '--info-fd', String(INFO_FD), '--block-fd', String(BLOCK_FD));
    return this;
  }

  /**
   * Then: a fixed PATH until the privilege drop (the content's own variables, LD_PRELOAD or
   * PATH among them, must not reach anything that still runs as root), the drop, and the
   * launcher with the command.
   */
  command(cwd: string, marker: string | null, account: { uid: number; gid: number } | null, argv: readonly string[], basePath: string): string[] {
    this.args.push('--chdir', cwd, '--clearenv', '--setenv', 'PATH', basePath);
    // The job marker lets a restarted Lectern find and stop this process tree.
    if (marker) this.args.push('--setenv', 'LECTERN_JOB', marker);
    this.args.push('--');
    if (account) this.args.push(...dropPrivileges(account));
    this.args.push('/bin/bash', '--noprofile', '--norc', '-c', LAUNCHER, 'lectern-launch', ...argv);
    return this.args;
  }
}
