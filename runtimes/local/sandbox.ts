import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { BASE_PATH, environment, mapper, SANDBOX_PATHS } from '../content-process.ts';
import type { ProcessSpec } from '../runtime.ts';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

export interface SandboxOptions {
  /** bwrap: a private mount namespace; none: a plain child process (not as root). */
  mode: 'bwrap' | 'none';
  bwrapPath: string;
  /** Set when Lectern runs as root: the unprivileged account content runs as. */
  runAs: RunAs | null;
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
    if (opts.runAs) throw new Error('Lectern runs as root without a sandbox: install bubblewrap (apt-get install bubblewrap) or run Lectern as an unprivileged user.');
    const map = mapper(spec, false);
    const [file, ...args] = spec.command.argv;
    return { file: file!, args, env: environment(spec, map, null), cwd: spec.command.cwd };
  }
  const map = mapper(spec, true);
  const env = environment(spec, map, opts.runAs);
  const a: string[] = ['--die-with-parent', '--new-session', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
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
  if (opts.runAs) {
    a.push('/usr/bin/setpriv', `--reuid=${opts.runAs.uid}`, `--regid=${opts.runAs.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--');
  }
  // Only now, as the run-as account, the content's environment: `env -i` starts it from nothing.
  a.push('/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...spec.command.argv.map(map));
  return { file: opts.bwrapPath, args: a, env: { PATH: BASE_PATH }, cwd: '/' };
}
