/**
 * A small cache for answers the proxy needs on every request. An entry is good while the
 * database has seen no write from this process since it was made (`generation`) and for at
 * most `ttlMs`, which bounds how stale another node's write can leave it.
 */
export class ShortCache<V> {
  private readonly entries = new Map<string, { value: V; at: number; generation: number }>();

  constructor(
    private readonly generation: () => number,
    private readonly ttlMs = 2000,
    private readonly max = 10_000,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.generation === this.generation() && now - hit.at < this.ttlMs) return hit.value;
    const generation = this.generation();
    const value = await load();
    // A write while loading may have changed the answer: keep it only if none happened.
    if (generation === this.generation()) {
      this.entries.set(key, { value, at: now, generation });
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }
}
