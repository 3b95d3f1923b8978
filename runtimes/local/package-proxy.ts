import { chmodSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream';

/**
 * The only way out of a package build's network namespace: an HTTP proxy of the server's, on a
 * Unix socket bridged into the namespace at 127.0.0.1:<port> (netns.ts), that connects only
 * to the hosts packages come from. pip and R follow HTTP(S)_PROXY; HTTPS goes through CONNECT
 * tunnels (the proxy never sees inside them), plain HTTP as absolute-form requests. Anything
 * else a build script tries, another item's app, Lectern's API, the database, the metadata
 * service of a cloud host, is refused.
 */
export class PackageProxy {
  private readonly server: http.Server;
  readonly socketPath: string;

  /** `allowed(host, port)`: whether a build may reach that address. */
  constructor(
    dir: string,
    private readonly allowed: (host: string, port: number) => boolean,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    chmodSync(dir, 0o711);
    this.socketPath = path.join(dir, 'packages.sock');
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.tunnel(req, socket, head));
  }

  /** Listens; every item's uid may connect (its bridge runs as that uid). */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o666);
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private tunnel(req: http.IncomingMessage, socket: net.Socket, head: Buffer) {
    socket.on('error', () => socket.destroy());
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '');
    const host = m?.[1];
    const port = Number(m?.[2]);
    if (!host || !this.allowed(host, port)) {
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nLectern: package builds may only reach the package index (${req.url} is not it)\r\n`,
      );
      return;
    }
    const upstream = net.connect(port, host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      pipeline(socket, upstream, socket, () => undefined);
    });
    upstream.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse) {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('Lectern: an absolute URL is expected\n');
      return;
    }
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (url.protocol !== 'http:' || !this.allowed(url.hostname.replace(/^\[|\]$/g, ''), port)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`Lectern: package builds may only reach the package index (${url.host} is not it)\n`);
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const out = http.request(url, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      pipeline(answer, res, () => undefined);
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    pipeline(req, out, () => undefined);
  }
}

/** The hosts (and ports) of the package sources, plus any the administrator names. */
export function packageHosts(sources: readonly string[], extra: readonly string[]): (host: string, port: number) => boolean {
  const allowed = new Set<string>();
  for (const s of sources) {
    if (s.startsWith('file:')) continue;
    const u = new URL(s);
    allowed.add(`${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`);
  }
  for (const h of extra) {
    if (h.includes(':')) allowed.add(h);
    else for (const port of [443, 80]) allowed.add(`${h}:${port}`);
  }
  return (host, port) => allowed.has(`${host.toLowerCase()}:${port}`);
}
