import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import * as tar from 'tar';
import { SANDBOX_PATHS } from '../content-process.ts';
import type { EnvironmentSteps } from './environment-steps.ts';
import type { RuntimeImage } from '../../src/domain/runtime-images.ts';
import { isGone } from './docker-streams.ts';
import { LABEL } from './labels.ts';
import { follow } from './runtime-images.ts';

/** The uid:gid content runs as in every runtime image (the base image's lectern-app). */
export const CONTENT_USER = '10001:10001';

export interface BundleImageRequest {
  server: string;
  contentGuid: string;
  bundleId: number;
  bundleDir: string;
  runtime: RuntimeImage;
  steps: EnvironmentSteps;
  log(line: string): void;
}

export interface BundleImage {
  id: string;
  name: string;
  /** True when the environment's layers came from the build cache (nothing was installed). */
  reused: boolean;
  /** False when the image was there already, built from the same inputs. */
  built: boolean;
}

export function bundleImageName(contentGuid: string, bundleId: number): string {
  return `lectern/content-${contentGuid}:${bundleId}`;
}

/**
 * Layer order is the cache: the environment's input (the requirements alone) and its install
 * come before the bundle, so a redeploy that changes code but not dependencies rebuilds only
 * the last layer. The bundle's files are root's and read-only to the content's account.
 */
function dockerfile(req: BundleImageRequest): string {
  return [
    `FROM ${req.runtime.id}`,
    'USER root',
    `RUN ["install", "-d", "-o", "10001", "-g", "10001", "-m", "0755", "${SANDBOX_PATHS.output}"]`,
    'COPY env/ /lectern/env-spec/',
    ...req.steps.run,
    `COPY app/ ${SANDBOX_PATHS.bundle}/`,
    // Each metadata step is a container the builder starts and commits: one USER, one LABEL.
    // (Containers get their working directory when they are created.)
    `USER ${CONTENT_USER}`,
  ].join('\n');
}

/** One LABEL line: Lectern's labels, and a hash of everything the image is built from. */
function labelLine(req: BundleImageRequest, text: string): { line: string; inputs: string } {
  const hash = createHash('sha256').update(text);
  for (const [file, content] of Object.entries(req.steps.files).sort()) hash.update(`\0${file}\0${content}`);
  // The bundle itself: a bundle's files never change after upload, so its id names them.
  const inputs = hash.update(`\0${req.contentGuid}/${req.bundleId}`).digest('hex').slice(0, 32);
  const labels = {
    [LABEL.managed]: 'true',
    [LABEL.server]: req.server,
    [LABEL.content]: req.contentGuid,
    [LABEL.bundle]: String(req.bundleId),
    [INPUTS_LABEL]: inputs,
  };
  return {
    line: `LABEL ${Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')}`,
    inputs,
  };
}

const INPUTS_LABEL = 'org.lectern.inputs';

/**
 * Builds a bundle's image FROM its runtime image, streaming the build into the deploy log, and
 * removes the image the same tag named before (a rebuild of the same bundle).
 */
export async function buildBundleImage(docker: Docker, req: BundleImageRequest): Promise<BundleImage> {
  const name = bundleImageName(req.contentGuid, req.bundleId);
  const previous = await docker
    .getImage(name)
    .inspect()
    .catch(() => null);
  const text = dockerfile(req);
  const { line, inputs } = labelLine(req, text);
  // The same bundle on the same runtime image with the same environment: the image is there.
  if (previous && previous.Config.Labels?.[INPUTS_LABEL] === inputs) {
    req.log(`The image ${name} is built from this bundle, runtime image and environment already; nothing to build.`);
    return { id: previous.Id, name, reused: true, built: false };
  }
  const context = await mkdtemp(path.join(os.tmpdir(), 'lectern-build-'));
  try {
    await mkdir(path.join(context, 'env'));
    for (const [file, text] of Object.entries(req.steps.files)) await writeFile(path.join(context, 'env', file), text);
    // A copy, not a link: the bundle was checked to hold regular files and directories only.
    await cp(req.bundleDir, path.join(context, 'app'), { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), `${text}\n${line}\n`);
    const stream = tar.c({ cwd: context, portable: true }, ['Dockerfile', 'env', 'app']);
    const output = await docker.buildImage(stream as unknown as NodeJS.ReadableStream, { t: name, rm: true, forcerm: true });
    // The environment's steps come after FROM, USER, RUN install and COPY env (steps 5 on).
    const first = 5;
    const last = first + req.steps.run.length - 1;
    let step = 0;
    let cached = 0;
    await follow(output, (line) => {
      const m = /^Step (\d+)\/\d+ : /.exec(line);
      if (m) step = Number(m[1]);
      else if (step >= first && step <= last && /^ ---> Using cache/.test(line)) cached++;
      // The engine's bookkeeping says nothing the publisher can use.
      if (/^ ---> Running in |^Removing intermediate container /.test(line)) return;
      req.log(line);
    });
    const id = (await docker.getImage(name).inspect()).Id;
    if (previous && previous.Id !== id)
      await docker
        .getImage(previous.Id)
        .remove()
        .catch(() => undefined);
    return { id, name, reused: cached === req.steps.run.length, built: true };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/**
 * Removes a bundle's image under every name it has (its registry name too, for Swarm); an image
 * already gone is fine, one a container still uses is left for later.
 */
export async function removeImage(docker: Docker, nameOrId: string): Promise<boolean> {
  try {
    const tags = (await docker.getImage(nameOrId).inspect()).RepoTags ?? [];
    for (const tag of tags) await docker.getImage(tag).remove();
    if (!tags.length) await docker.getImage(nameOrId).remove();
    return true;
  } catch (err) {
    if (isGone(err)) return true;
    return false;
  }
}
