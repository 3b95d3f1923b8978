/**
 * Where an instance answers HTTP: `http://host:port`, or, for a local process in a network
 * namespace of its own, a Unix socket the server reaches it through, written
 * `http+unix://<percent-encoded socket path>` (the form requests-unixsocket uses). Anything
 * that connects to an instance (the relays, the readiness probe) goes through here.
 */
export function unixTarget(socketPath: string): string {
  return `http+unix://${encodeURIComponent(socketPath)}`;
}

export interface ParsedTarget {
  /** The URL to ask, with `localhost` standing for the socket when there is one. */
  url: string;
  socketPath?: string;
}

/** Splits a target (with or without a path after it) into a URL and a socket path. */
export function parseTarget(target: string): ParsedTarget {
  if (!target.startsWith('http+unix://')) return { url: target };
  const rest = target.slice('http+unix://'.length);
  const slash = rest.indexOf('/');
  const host = slash === -1 ? rest : rest.slice(0, slash);
  return { url: `http://localhost${slash === -1 ? '' : rest.slice(slash)}`, socketPath: decodeURIComponent(host) };
}
