/** `metrics.listen` (`127.0.0.1:9464`, `[::1]:9464`, `localhost:0`) as what `listen()` takes. */
export function parseListenAddress(listen: string): { host: string; port: number } {
  const cut = listen.lastIndexOf(':');
  const host = listen.slice(0, cut).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(cut + 1));
  if (cut <= 0 || !host || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`metrics.listen: "${listen}" is not host:port`);
  return { host, port };
}
