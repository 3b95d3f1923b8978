import type { PackageLanguage } from './packages.ts';

/** What `image_name` says of a cache on this machine (no container image): Connect's word. */
export const LOCAL_IMAGE = 'Local';

/**
 * A runtime cache, as Connect names one: the package environments kept for one language at one
 * version, in one runtime image (`Local` for processes on this machine).
 */
export interface RuntimeCache {
  language: PackageLanguage;
  version: string;
  imageName: string;
}

/**
 * The runtime caches the content runtime keeps (implemented in runtimes/, wired in the
 * composition root). `remove` takes the cache away so that the next deploy or start of content
 * that used it builds its environment again; it answers false when there is no such cache.
 */
export interface RuntimeCaches {
  list(): Promise<RuntimeCache[]>;
  remove(cache: RuntimeCache, log: (line: string) => void): Promise<boolean>;
}
