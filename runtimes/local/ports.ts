import net from 'node:net';

/**
 * A loopback port nobody listens on now: bind to 0, read the port, release it. Another process
 * could take it in between; callers that cannot tolerate that read the port back instead.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
