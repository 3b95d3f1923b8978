import type { ProcessVariables } from '../src/domain/deploy.ts';
import type { Instance } from './backend.ts';

interface Shared {
  env: Record<string, string>;
  release: () => Promise<void>;
  users: number;
}

/**
 * Each served instance's environment and API key (ProcessVariables), and their revocation
 * when the instance ends; a render takes its own from ProcessVariables and releases it when
 * done. When a backend's processes of one bundle share one environment (a Swarm service's
 * replicas), the bundle gets one key, revoked when its last instance stops.
 */
export class ProcessKeys {
  // Per job: revokes the process's API key when it ends.
  private readonly releases = new Map<string, () => Promise<void>>();
  // Per bundle, when shared: the environment and how many instances use it.
  private readonly shared = new Map<string, Shared>();
  // Revocations under way, so shutdown can wait for them before the database closes.
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly processEnv: ProcessVariables,
    private readonly sharedPerBundle: boolean,
  ) {}

  /** A served instance's environment, to `keep` once it runs or `release` if it did not start. */
  async forInstance(contentGuid: string, bundleId: number, key: string): Promise<{ env: Record<string, string>; release: () => Promise<void> }> {
    if (!this.sharedPerBundle) return this.processEnv.forContent(contentGuid, key);
    const id = `${contentGuid}/${bundleId}`;
    let s = this.shared.get(id);
    if (!s) {
      s = { ...(await this.processEnv.forContent(contentGuid, key)), users: 0 };
      this.shared.set(id, s);
    }
    return this.share(id, s);
  }

  private share(id: string, s: Shared) {
    s.users++;
    let done = false;
    return {
      env: s.env,
      release: async () => {
        if (done) return;
        done = true;
        if (--s.users > 0) return;
        if (this.shared.get(id) === s) this.shared.delete(id);
        await s.release();
      },
    };
  }

  /** The instance started: its key is revoked by `release(instance key)`. */
  keep(instanceKey: string, release: () => Promise<void>): void {
    this.releases.set(instanceKey, release);
  }

  /** An instance adopted after a restart: its key (or its bundle's) was kept; `revoke` ends it. */
  adopt(i: Instance, revoke: (jobKey: string) => Promise<void>): void {
    if (!this.sharedPerBundle) {
      this.releases.set(i.key, () => revoke(i.key));
      return;
    }
    const id = `${i.contentGuid}/${i.bundleId}`;
    let s = this.shared.get(id);
    if (!s) {
      const envKey = i.envKey ?? i.key;
      s = { env: {}, release: () => revoke(envKey), users: 0 };
      this.shared.set(id, s);
    }
    this.releases.set(i.key, this.share(id, s).release);
  }

  /** The instance ended: revoke its key (once, however many times this is called). */
  release(instanceKey: string): Promise<void> {
    const r = this.releases.get(instanceKey);
    this.releases.delete(instanceKey);
    if (!r) return Promise.resolve();
    const p = r().catch(() => undefined);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Resolves when every revocation started so far is done (for shutdown). */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
