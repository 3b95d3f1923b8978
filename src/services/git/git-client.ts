import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { GitCredentials } from '../../domain/git-location.ts';

export interface GitClientOptions {
  /** Where git's HOME is: an empty directory of the server's, so no user's ~/.gitconfig applies. */
  home: string;
  /** Each git command is killed (its whole process group) after this long. */
  timeoutMs: number;
  /** GIT_ALLOW_PROTOCOL: the transports git may use, for the URL given and any submodule or redirect. */
  protocols: readonly string[];
  /** Variables the network needs (proxies, CA bundles), from the configuration. */
  networkEnv?: Record<string, string> | undefined;
}

/** A git command that failed: its exit, and the tail of what it said (credentials never in it). */
export class GitError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

// What git says on stderr is kept up to this much (the end of it, where the reason is).
const MAX_STDERR = 16 * 1024;
// ls-remote and rev-parse answer in lines; more than this is not an answer we asked for.
const MAX_STDOUT = 1024 * 1024;
const PATH = '/usr/local/bin:/usr/bin:/bin';
// The one ref a cache keeps: the last commit fetched.
const CACHE_REF = 'refs/lectern/fetched';

interface RunOptions {
  cwd?: string;
  auth?: GitCredentials | undefined;
  /** Where stdout goes instead of being collected (an archive). */
  stdout?: Writable;
}

/**
 * The system's git, run for the server alone: no user or system configuration, no hooks, no
 * prompts, only the allowed transports, a time limit on every command (the process group is
 * killed), bounded output. Credentials reach git through its environment as an
 * `http.extraHeader` (GIT_CONFIG_COUNT/KEY/VALUE), never through argv, where any account on the
 * host could read them in `ps`; redirects are then not followed, so the header goes to the
 * repository's host only.
 */
export class GitClient {
  constructor(private readonly o: GitClientOptions) {}

  private env(auth: GitCredentials | undefined): Record<string, string> {
    const config: [string, string][] = [
      ['core.hooksPath', '/dev/null'],
      ['core.askPass', ''],
      ['credential.helper', ''],
      ['protocol.file.allow', 'never'],
      ['protocol.ext.allow', 'never'],
      ['submodule.recurse', 'false'],
    ];
    if (auth) {
      const basic = Buffer.from(`${auth.username}:${auth.token}`, 'utf8').toString('base64');
      config.push(['http.extraHeader', `Authorization: Basic ${basic}`], ['http.followRedirects', 'false']);
    }
    const env: Record<string, string> = {
      ...this.o.networkEnv,
      PATH,
      HOME: this.o.home,
      LC_ALL: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ALLOW_PROTOCOL: this.o.protocols.join(':'),
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
      GIT_CONFIG_COUNT: String(config.length),
    };
    config.forEach(([k, v], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    });
    return env;
  }

  private run(args: string[], o: RunOptions = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', args, { cwd: o.cwd, env: this.env(o.auth), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      let err = '';
      let timedOut = false;
      const kill = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, this.o.timeoutMs);
      child.stderr.on('data', (d: Buffer) => {
        err = (err + d.toString('utf8')).slice(-MAX_STDERR);
      });
      if (o.stdout) {
        child.stdout.pipe(o.stdout);
        o.stdout.on('error', kill);
      } else {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString('utf8');
          if (out.length > MAX_STDOUT) kill();
        });
      }
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new GitError(`git could not start: ${e.message}`, ''));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve(out);
        const said = err.trim().split('\n').slice(-3).join(' ').trim();
        const why = timedOut ? `timed out after ${Math.round(this.o.timeoutMs / 1000)} s` : signal ? `was stopped (${signal})` : `failed (exit ${code})`;
        reject(new GitError(`git ${args[0] === '-C' ? args[2] : args[0]} ${why}${said ? `: ${said}` : ''}`, err));
      });
    });
  }

  /** The commit a branch's head is at on the remote, or null when it has no such branch. */
  async headOf(url: string, branch: string, auth?: GitCredentials): Promise<string | null> {
    const out = await this.run(['ls-remote', '--heads', '--', url, `refs/heads/${branch}`], { auth });
    const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
    return line ? line.split('\t')[0]! : null;
  }

  /** Every branch of a remote repository with the commit it is at, by name. */
  async branches(url: string, auth?: GitCredentials): Promise<Array<{ branch: string; commit: string }>> {
    const out = await this.run(['ls-remote', '--heads', '--', url], { auth });
    return out
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((p): p is [string, string] => p.length === 2 && p[1]!.startsWith('refs/heads/'))
      .map(([commit, ref]) => ({ branch: ref.slice('refs/heads/'.length), commit }))
      .sort((a, b) => a.branch.localeCompare(b.branch));
  }

  /** The paths of the files in a fetched commit (at most `limit`). */
  async files(cacheDir: string, commit: string, limit: number): Promise<string[]> {
    const out = await this.run(['-C', cacheDir, 'ls-tree', '-r', '--name-only', '-z', commit]);
    return out.split('\0').filter(Boolean).slice(0, limit);
  }

  /**
   * Fetches one ref (a branch, a tag or a commit), one commit deep, into a bare repository kept
   * at `cacheDir` (made on first use), and gives its commit.
   */
  async fetch(cacheDir: string, url: string, ref: string, auth?: GitCredentials): Promise<string> {
    try {
      await stat(path.join(cacheDir, 'HEAD'));
    } catch {
      await rm(cacheDir, { recursive: true, force: true });
      await mkdir(path.dirname(cacheDir), { recursive: true, mode: 0o700 });
      await this.run(['init', '--bare', '--quiet', cacheDir]);
    }
    // Into a ref of the cache's own, so the next fetch tells the server what is here already
    // (without one the cache would hold objects nobody asks about) and gc prunes what it replaced.
    await this.run(['-C', cacheDir, 'fetch', '--depth', '1', '--no-tags', '--no-recurse-submodules', '--quiet', '--', url, `+${ref}:${CACHE_REF}`], { auth });
    await this.run(['-C', cacheDir, 'gc', '--auto', '--quiet']);
    return (await this.run(['-C', cacheDir, 'rev-parse', '--verify', '--end-of-options', `${CACHE_REF}^{commit}`])).trim();
  }

  /** What `<commit>:<path>` is in the fetched commit: 'tree', 'blob', … or null when absent. */
  async typeAt(cacheDir: string, commit: string, file: string): Promise<string | null> {
    try {
      return (await this.run(['-C', cacheDir, 'cat-file', '-t', `${commit}:${file === '.' ? '' : file}`])).trim();
    } catch (err) {
      if (err instanceof GitError) return null;
      throw err;
    }
  }

  /**
   * Writes `directory` of a fetched commit as a gzipped tar to `file`, straight from git's
   * objects (no working tree: nothing is checked out, so no symbolic link is ever followed
   * here; the bundle extractor judges the links the archive holds). Gives the uncompressed
   * size; more than `maxBytes` stops git and fails.
   */
  async archive(cacheDir: string, commit: string, directory: string, file: string, maxBytes: number): Promise<number> {
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > maxBytes) return cb(new GitError(`The directory holds more than the bundle limit of ${maxBytes} bytes.`, ''));
        cb(null, chunk);
      },
    });
    const tree = directory === '.' ? `${commit}^{tree}` : `${commit}:${directory}`;
    const written = pipeline(count, createGzip(), createWriteStream(file, { mode: 0o600 }));
    try {
      await Promise.all([this.run(['-C', cacheDir, 'archive', '--format=tar', tree], { stdout: count }), written]);
    } catch (err) {
      count.destroy();
      await written.catch(() => undefined);
      if (bytes > maxBytes) throw new GitError(`The directory holds more than the bundle limit of ${maxBytes} bytes.`, '');
      throw err;
    }
    return bytes;
  }
}
