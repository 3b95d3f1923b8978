import http from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Opens a WebSocket handshake with an API key, over a connection of its own, and keeps the
 * connection: a Shiny session, as far as the proxy knows. `status` is 101 when it was relayed.
 */
export function openSession(url: string, key: string, cookie?: string): Promise<{ status: number; socket?: Duplex }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      agent: false,
      headers: {
        authorization: `Key ${key}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...(cookie ? { cookie } : {}),
      },
    });
    req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, socket }));
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
    req.end();
  });
}
