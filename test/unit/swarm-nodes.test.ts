import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { DockerBackend } from '../../runtimes/docker/docker-backend.ts';
import type { JobStore } from '../../runtimes/jobs/job-store.ts';
import { SwarmBackend } from '../../runtimes/swarm/swarm-backend.ts';

// The engine's answers for a swarm of `nodes` nodes whose manager is this engine. (The real
// single-node swarm is exercised in test/integration/swarm-backend.test.ts; a second node
// needs a second host.)
function engine(nodes: number): Docker {
  return {
    info: async () => ({ Swarm: { LocalNodeState: 'active', ControlAvailable: true, NodeID: 'n0' } }),
    listNodes: async () => Array.from({ length: nodes }, (_, i) => ({ ID: `n${i}` })),
  } as unknown as Docker;
}

const backend = (nodes: number, registry: string | null) =>
  new SwarmBackend({ docker: engine(nodes), server: 's', jobs: {} as JobStore, containers: {} as DockerBackend, registry });

describe('the Swarm backend on a swarm of several nodes', () => {
  it('refuses to start, even with a registry, since replicas would listen on every interface of their nodes', async () => {
    await expect(backend(2, 'registry.example.com:5000').init()).rejects.toThrow(/single-node swarm only.*every interface/);
    await expect(backend(3, null).init()).rejects.toThrow(/The swarm has 3 nodes/);
  });

  it('starts on a single-node swarm', async () => {
    const b = backend(1, null);
    await expect(b.init()).resolves.toBeUndefined();
    b.detachAll();
  });
});
