import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { parseTarget } from '../runtimes/target.ts';
import { forwardedHeaders, isLecternCookie, type Forwarding } from './forward.ts';

/** Handshake headers that belong to one side's connection: each side negotiates its own. */
const OWN_HEADERS = new Set([
  'host',
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'keep-alive',
  'te',
  'transfer-encoding',
]);
// Above this many bytes waiting for a slow reader, the other side stops being read.
const HIGH_WATER = 1 << 20;

export interface WsRelayOptions {
  /** Seconds between keep-alive pings to the viewer; a viewer that misses one is gone. 0: none. */
  pingSeconds: number;
  /** A Set-Cookie for the viewer's handshake response (after the app's own). */
  setCookie?: string;
  /** Runs once the viewer is joined to the app (both handshakes done), before any message. */
  onJoined?: (() => void) | undefined;
}

function refuse(socket: Duplex, status: number, reason: string) {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

/** Messages one way, in order, kind kept; the sender is paused while the receiver is behind. */
function pipeMessages(from: WebSocket, to: WebSocket) {
  let paused = false;
  from.on('message', (data: RawData, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (paused && to.bufferedAmount < HIGH_WATER / 2) {
        paused = false;
        from.resume();
      }
    });
    if (!paused && to.bufferedAmount > HIGH_WATER) {
      paused = true;
      from.pause();
    }
  });
}

/** The checks ws makes of a viewer's handshake, made before the app is connected to. */
function acceptable(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  return (
    req.method === 'GET' &&
    (req.headers.upgrade ?? '').toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key.trim()) &&
    (version === '13' || version === '8') &&
    !!(req.socket.readable && req.socket.writable)
  );
}

/** A close code the other side may be sent: 1005, 1006 and 1015 are only ever reported. */
function relayable(code: number): number | undefined {
  return code === 1005 || code === 1006 || code === 1015 ? undefined : code;
}

/**
 * WebSockets between viewers and content: Lectern ends the viewer's WebSocket and opens one of
 * its own to the app, relaying messages. Being an endpoint lets it ping the viewer, which keeps
 * idle load balancers from cutting a quiet Shiny session and frees the process's connection
 * slot when a viewer vanished without closing. Measured (bench/proxy), this costs no more than
 * piping the raw bytes.
 */
export class WsRelay {
  private readonly server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });

  /** `forwarding`: how X-Forwarded-* are filled in for the app, as for HTTP (forward.ts). */
  constructor(private readonly forwarding: Forwarding) {}

  /** `req` is already prepared for the app (its URL and headers); `done` runs once both sides are closed. */
  forward(req: IncomingMessage, socket: Duplex, head: Buffer, target: string, opts: WsRelayOptions, done: () => void): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !OWN_HEADERS.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    Object.assign(headers, forwardedHeaders(req, this.forwarding));
    const protocols = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      done();
    };
    // A handshake ws would refuse is refused before the app is disturbed.
    if (!acceptable(req)) {
      refuse(socket, 400, 'Bad Request');
      return finish();
    }
    let app: WebSocket;
    try {
      // ws names a Unix socket as ws+unix:<socket path>:<request path>.
      const { socketPath } = parseTarget(target);
      const url = socketPath ? `ws+unix:${socketPath}:${req.url ?? '/'}` : target.replace(/^http/, 'ws') + (req.url ?? '/');
      app = new WebSocket(url, protocols, { headers, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, handshakeTimeout: 30_000 });
    } catch {
      // A subprotocol list ws rejects (duplicates, bad characters) or a URL it cannot take.
      refuse(socket, 400, 'Bad Request');
      return finish();
    }
    let opened = false;
    // Always listened for: an unhandled 'error' would end the server.
    app.on('error', () => {
      if (opened) return app.terminate();
      refuse(socket, 502, 'Bad Gateway');
      finish();
    });
    socket.once('close', () => {
      if (!opened) app.terminate();
    });

    // The app refused the upgrade: the viewer gets its status.
    app.once('unexpected-response', (_r, res) => {
      refuse(socket, res.statusCode ?? 502, res.statusMessage ?? 'Bad Gateway');
      res.resume();
      app.terminate();
      finish();
    });
    let appCookies: string[] = [];
    app.once('upgrade', (res) => {
      const set = res.headers['set-cookie'] ?? [];
      appCookies = set.filter((c) => !isLecternCookie(c));
    });
    app.once('open', () => {
      opened = true;
      if (!socket.writable || !socket.readable) {
        app.terminate();
        return finish();
      }
      const addHeaders = (lines: string[], r: IncomingMessage) => {
        if (r !== req) return;
        for (const c of appCookies) lines.push(`Set-Cookie: ${c}`);
        if (opts.setCookie) lines.push(`Set-Cookie: ${opts.setCookie}`);
      };
      this.server.on('headers', addHeaders);
      // The viewer gets the subprotocol the app chose.
      this.server.options.handleProtocols = (_offered, r) => (r === req ? app.protocol || false : false);
      let joined = false;
      // Synchronous here (no verifyClient): when it did not call back, ws refused the viewer.
      this.server.handleUpgrade(req, socket, head, (viewer) => {
        joined = true;
        opts.onJoined?.();
        this.join(viewer, app, opts.pingSeconds, finish);
      });
      this.server.off('headers', addHeaders);
      if (!joined) {
        app.terminate();
        finish();
      }
    });
  }

  private join(viewer: WebSocket, app: WebSocket, pingSeconds: number, finish: () => void) {
    pipeMessages(viewer, app);
    pipeMessages(app, viewer);
    viewer.on('ping', () => undefined);
    let alive = true;
    viewer.on('pong', () => (alive = true));
    // Any message proves the viewer is there too.
    viewer.on('message', () => (alive = true));
    const pinger =
      pingSeconds > 0
        ? setInterval(() => {
            // Not read while the app is behind (back-pressure): its pong may be waiting unread.
            if (!alive && !viewer.isPaused) return viewer.terminate();
            alive = false;
            viewer.ping();
          }, pingSeconds * 1000)
        : undefined;
    pinger?.unref();
    const closeOther = (other: WebSocket) => (code: number, reason: Buffer) => {
      if (other.readyState === WebSocket.OPEN) other.close(relayable(code), reason);
      else if (other.readyState === WebSocket.CONNECTING) other.terminate();
    };
    viewer.once('close', closeOther(app));
    app.once('close', closeOther(viewer));
    const settle = () => {
      if (viewer.readyState === WebSocket.CLOSED && app.readyState === WebSocket.CLOSED) {
        if (pinger) clearInterval(pinger);
        finish();
      }
    };
    viewer.on('close', settle);
    app.on('close', settle);
    // A side that errs is gone; its close follows and closes the other. (The app's error
    // listener is forward()'s.)
    viewer.on('error', () => viewer.terminate());
  }
}
