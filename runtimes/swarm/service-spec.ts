import type Docker from 'dockerode';
import { CONTENT_USER } from '../docker/bundle-image.ts';
import { processView } from '../docker/container-spec.ts';
import { LABEL } from '../docker/labels.ts';
import type { InstanceSpec } from '../backend.ts';

/** The label naming the job whose process key a service's replicas share. */
export const ENV_KEY_LABEL = 'org.lectern.env-key';

export function serviceName(contentGuid: string, bundleId: number): string {
  return `lectern-${contentGuid}-${bundleId}`;
}

/**
 * A served bundle as a Swarm service. The replicas are the bundle's processes; Lectern, not
 * Swarm, decides how many, so a replica that exits is not restarted but noticed. No routing
 * mesh (this kernel has no IPVS, and Lectern chooses the replica itself): DNS round robin and
 * each replica's port published on its node at a port Swarm picks. The container is confined
 * as in the Docker backend.
 */
export function serviceSpec(spec: InstanceSpec, image: string, server: string, replicas: number): Docker.CreateServiceOptions {
  const view = processView(spec, server, 'service');
  const labels: Record<string, string> = { ...view.labels, [LABEL.port]: String(spec.port), [ENV_KEY_LABEL]: spec.key };
  // Replicas come and go under the service; each gets a job key of its own when Lectern sees it.
  delete labels[LABEL.job];
  const limits: Record<string, number> = { Pids: 1024 };
  if (spec.limits.memoryBytes) limits.MemoryBytes = spec.limits.memoryBytes;
  if (spec.limits.cpus) limits.NanoCPUs = Math.round(spec.limits.cpus * 1e9);
  return {
    Name: serviceName(spec.contentGuid, spec.bundleId),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Command: view.cmd,
        Env: view.env,
        Dir: view.cwd,
        User: CONTENT_USER,
        Labels: labels,
        ReadOnly: true,
        Mounts: [{ Type: 'tmpfs', Source: '', Target: '/tmp', TmpfsOptions: { Mode: 0o1777 } }],
        Init: true,
        CapabilityDrop: ['ALL'],
      },
      Resources: { Limits: limits },
      RestartPolicy: { Condition: 'none' },
      // The engine's copy of the output, which Lectern reads through the swarm's log API, is
      // capped on disk (a flood would otherwise fill it). Under a flood the follow may stall at a
      // rotation and later lines miss the job log: output lost, never the host's disk.
      LogDriver: { Name: 'json-file', Options: { 'max-size': '16m', 'max-file': '2' } },
    },
    Mode: { Replicated: { Replicas: replicas } },
    EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: spec.port, PublishMode: 'host' }] },
  } as unknown as Docker.CreateServiceOptions;
}
