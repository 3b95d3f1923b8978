import type http from 'node:http';

/**
 * Stops taking connections. Keep-alive sockets would hold close() open until their timeout,
 * so busy ones finish their request and are closed as soon as they fall idle.
 */
export async function drain(srv: http.Server, graceSeconds: number): Promise<void> {
  if (!srv.listening) return;
  const drained = new Promise<void>((resolve) => srv.close(() => resolve()));
  srv.closeIdleConnections();
  const sweep = setInterval(() => srv.closeIdleConnections(), 50);
  const grace = setTimeout(() => srv.closeAllConnections(), graceSeconds * 1000);
  await drained;
  clearInterval(sweep);
  clearTimeout(grace);
}

/** Listens on `port` (0: any free one) and resolves with the port bound. */
export function listenOn(srv: http.Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, address, () => {
      srv.off('error', reject);
      const addr = srv.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
