import Docker from 'dockerode';
import { buildRuntimeImages, type BuildImagesOptions } from '../runtimes/docker/runtime-images.ts';

/**
 * The CLI's composition root for runtime tooling (`lectern runtimes build`): the one place
 * the CLI reaches runtimes/, so src/cli itself imports no wing. It opens no database and
 * runs nothing of the server's start-up.
 */
export function buildRuntimeImagesWithDocker(o: BuildImagesOptions): Promise<string[]> {
  return buildRuntimeImages(new Docker(), o);
}
