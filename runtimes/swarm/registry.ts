import type Docker from 'dockerode';
import { follow } from '../docker/runtime-images.ts';

/**
 * Pushes a bundle image to the swarm's registry (`host:port`), under the same name there, so
 * that any node can pull it. Credentials come from the engine's own configuration.
 */
export async function pushImage(docker: Docker, image: string, registry: string, log: (line: string) => void): Promise<void> {
  const [repo, tag] = image.split(':') as [string, string];
  const remote = `${registry}/${repo}`;
  await docker.getImage(image).tag({ repo: remote, tag });
  log(`Pushing ${remote}:${tag} for the swarm's nodes...`);
  try {
    await follow(await docker.getImage(`${remote}:${tag}`).push({ tag }), (l) => {
      if (!/^(Preparing|Waiting|Pushing|Layer already exists)/.test(l)) log(l);
    });
  } catch (err) {
    throw new Error(
      `Pushing the image to the registry ${registry} failed: ${(err as Error).message}. Check that the registry is reachable from this engine (and trusted, if it has no TLS).`,
    );
  }
}
