// A real git server for tests: git's own smart-HTTP CGI program (git-http-backend) behind a
// small Node http server on loopback, optionally behind basic authentication, and working
// copies that commit and push to it with the real git.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { FIXTURES } from './bundles.ts';

const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitServer {
  /** `http://127.0.0.1:<port>`; a repository is at `<url>/<name>.git`. */
  url: string;
  /** Every request's path and Authorization header, to check what a client sent. */
  requests: Array<{ path: string; authorization: string | undefined }>;
  /** A new bare repository `<name>.git` and a working copy that pushes to it. */
  repository(name: string): WorkingCopy;
  close(): Promise<void>;
}

// The test's git never reads the machine's or the user's configuration.
const gitEnv = (home: string) => ({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' });

/** Starts the server; with `auth`, every request needs that user name and token (Basic). */
export async function startGitServer(opts: { auth?: { username: string; token: string } } = {}): Promise<GitServer> {
  if (!existsSync(HTTP_BACKEND)) throw new Error(`${HTTP_BACKEND} is missing: the git tests need git installed`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'lectern-git-'));
  const projects = path.join(root, 'projects');
  const home = path.join(root, 'home');
  mkdirSync(projects);
  mkdirSync(home);
  const requests: GitServer['requests'] = [];
  const expected = opts.auth && `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.token}`).toString('base64')}`;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ path: url.pathname, authorization: req.headers.authorization });
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('authentication required\n');
      return;
    }
    // CGI: the request in variables, its body on stdin, headers then the body on stdout.
    const cgi = spawn(HTTP_BACKEND, [], {
      env: {
        ...gitEnv(home),
        GIT_PROJECT_ROOT: projects,
        GIT_HTTP_EXPORT_ALL: '1',
        GATEWAY_INTERFACE: 'CGI/1.1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: opts.auth?.username ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      started = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim().toLowerCase();
        const value = line.slice(i + 1).trim();
        if (name === 'status') status = Number(value.split(' ')[0]);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => (started ? res.end() : res.writeHead(502).end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    requests,
    repository(name) {
      const bare = path.join(projects, `${name}.git`);
      execFileSync('git', ['init', '--bare', '--quiet', '-b', 'main', bare], { env: gitEnv(home) });
      // Pushes over http would need receive-pack enabled; the working copy pushes to the directory.
      return new WorkingCopy(bare, `${url}/${name}.git`, path.join(root, `work-${name}`), home);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A working copy of one repository: write files on a branch, commit, push; gives the commit. */
class WorkingCopy {
  constructor(
    private readonly bare: string,
    /** The repository's URL on the server. */
    readonly url: string,
    readonly dir: string,
    private readonly home: string,
  ) {
    execFileSync('git', ['init', '--quiet', '-b', 'main', dir], { env: gitEnv(home) });
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: this.dir, env: gitEnv(this.home) })
      .toString('utf8')
      .trim();
  }

  /** Switches to `branch` (made from the current commit when new). */
  checkout(branch: string): void {
    this.git('checkout', '--quiet', '-B', branch);
  }

  /** Writes the files (relative to the working copy), commits everything on the current branch and pushes it. */
  commit(files: Record<string, string | Buffer>, message: string): string {
    for (const [name, body] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(this.dir, name)), { recursive: true });
      writeFileSync(path.join(this.dir, name), body);
    }
    this.git('add', '-A');
    this.git('commit', '--quiet', '--allow-empty', '-m', message);
    const branch = this.git('rev-parse', '--abbrev-ref', 'HEAD');
    this.git('push', '--quiet', '--force', this.bare, `HEAD:refs/heads/${branch}`);
    return this.git('rev-parse', 'HEAD');
  }
}

/**
 * The files of the real static bundle `py-static-html.tar.gz` (rsconnect-python's), under
 * `dir/`, with its page's heading replaced and the manifest's checksum brought up to date.
 */
export async function staticSiteFiles(dir: string, heading: string): Promise<Record<string, Buffer>> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lectern-site-'));
  try {
    await tar.extract({ file: path.join(FIXTURES, 'py-static-html.tar.gz'), cwd: tmp });
    const html = Buffer.from(readFileSync(path.join(tmp, 'index.html'), 'utf8').replace(/<h1>.*?<\/h1>/, `<h1>${heading}</h1>`));
    const manifest = JSON.parse(readFileSync(path.join(tmp, 'manifest.json'), 'utf8')) as { files: Record<string, { checksum: string }> };
    manifest.files['index.html'] = { checksum: createHash('md5').update(html).digest('hex') };
    const prefix = dir === '.' ? '' : `${dir}/`;
    return {
      [`${prefix}index.html`]: html,
      [`${prefix}img/logo.png`]: readFileSync(path.join(tmp, 'img/logo.png')),
      [`${prefix}manifest.json`]: Buffer.from(JSON.stringify(manifest, null, 2)),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
