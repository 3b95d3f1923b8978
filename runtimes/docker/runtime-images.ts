import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { LineSplitter, splitLines } from '../../src/domain/line-splitter.ts';
import { FrameDemuxer } from './docker-streams.ts';

const IMAGES_DIR = fileURLToPath(new URL('../images', import.meta.url));

/** The image `docker import` makes from a debootstrap root file system. */
const MINBASE_IMAGE = 'lectern/bookworm-minbase:latest';

/** Lectern's runtime images, in build order: each FROM the base. */
export const RUNTIME_IMAGES = [
  { name: 'base', image: 'lectern/base:latest', probes: [] as string[] },
  { name: 'r', image: 'lectern/r:latest', probes: ['r'] },
  { name: 'python', image: 'lectern/python:latest', probes: ['python'] },
  { name: 'r-python', image: 'lectern/r-python:latest', probes: ['r', 'python'] },
] as const;

/** The labels runtime images carry: which interpreters are inside, at which versions. */
export const LABELS = {
  runtime: 'org.lectern.runtime',
  r: 'org.lectern.r.version',
  python: 'org.lectern.python.version',
  quarto: 'org.lectern.quarto.version',
  /** Which Dockerfiles made it: an image from older ones is rebuilt by `lectern runtimes build`. */
  schema: 'org.lectern.schema',
} as const;

/** Bumped whenever the Dockerfiles in runtimes/images change what an image carries. */
const IMAGE_SCHEMA = '2';

export interface BuildImagesOptions {
  /** FROM for the base image: an image an administrator names, else the debootstrap import. */
  base?: string;
  /** Rebuild images that exist already. */
  force?: boolean;
  /** Debian mirror for debootstrap. */
  mirror?: string;
  log(line: string): void;
}

async function exists(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

function run(cmd: string, args: string[], log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      const lines = new LineSplitter((l) => l && log(l));
      stream.on('data', (b: Buffer) => lines.write(b));
      stream.on('end', () => lines.end());
    }
    child.on('error', (err) => reject(new Error(`${cmd} could not run (${err.message}): install it (apt-get install ${cmd})`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed with exit code ${code}`))));
  });
}

/** There, and made by the Dockerfiles of this version of Lectern. */
async function current(docker: Docker, image: string): Promise<boolean> {
  try {
    return (await docker.getImage(image).inspect()).Config.Labels?.[LABELS.schema] === IMAGE_SCHEMA;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * The minimal Debian image, without a registry: debootstrap a root file system and
 * `docker import` it (streamed from the system tar, which keeps device nodes and owners).
 */
async function importMinbase(docker: Docker, o: BuildImagesOptions): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'lectern-rootfs-'));
  try {
    o.log(`debootstrap --variant=minbase bookworm (into ${root})`);
    await run('debootstrap', ['--variant=minbase', 'bookworm', root, o.mirror ?? 'http://deb.debian.org/debian'], () => undefined);
    const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, tag] = MINBASE_IMAGE.split(':') as [string, string];
    const out = await docker.importImage(tar.stdout, { repo, tag });
    await follow(out, o.log);
    o.log(`imported ${MINBASE_IMAGE}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Streams a build's, import's or push's progress (JSON messages, one a line) into `log`, by
 * lines of the build's own output: a RUN step's output arrives in pieces that need not end
 * lines, and is cut into lines of at most MAX_LINE_BYTES, like any content output. Nothing
 * else is kept (dockerode's followProgress keeps every message until the end, and its buffer
 * has no bound). Rejects on the daemon's reported error.
 */
export function follow(stream: NodeJS.ReadableStream, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    const output = new LineSplitter((l) => l.trim() && log(l));
    const messages = new LineSplitter(
      (raw) => {
        if (!raw.trim()) return;
        let event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } };
        try {
          event = JSON.parse(raw) as typeof event;
        } catch {
          log('[lectern] A progress message from the engine was too long or malformed, and was skipped.');
          return;
        }
        if (event.error || event.errorDetail?.message) failure ??= event.error ?? event.errorDetail?.message;
        if (typeof event.stream === 'string') output.write(event.stream);
        else if (typeof event.status === 'string') for (const l of splitLines(event.status.trimEnd())) if (l.trim()) log(l);
      },
      { maxLineBytes: MAX_MESSAGE_BYTES },
    );
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      messages.end();
      output.end();
      if (err) reject(err);
      else if (failure) reject(new Error(failure));
      else resolve();
    };
    stream.on('data', (chunk: Buffer) => messages.write(chunk));
    stream.on('end', () => finish());
    stream.on('close', () => finish());
    stream.on('error', (err: Error) => finish(err));
  });
}

// One progress message holds a piece of a step's output, JSON-escaped: far less than this.
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
// What a probe (a version, a library listing of a runtime image) prints: far less than this.
const PROBE_MAX_CHARS = 32 * 1024 * 1024;

/** Runs `sh -c script` in a throwaway container of `image` and returns its output. */
function probe(docker: Docker, image: string, script: string): Promise<string> {
  return runInImage(docker, image, ['sh', '-c', script]);
}

/** Runs a command in a throwaway, offline container of `image`, as its default user; its output (both streams). */
export async function runInImage(docker: Docker, image: string, cmd: string[]): Promise<string> {
  const container = await docker.createContainer({ Image: image, Cmd: cmd, HostConfig: { NetworkMode: 'none' } });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    let out = '';
    const keep = (b: Buffer) => {
      if (out.length < PROBE_MAX_CHARS) out += String(b);
    };
    const demux = new FrameDemuxer(keep, keep);
    const done = new Promise<void>((resolve) => {
      stream.on('data', (b: Buffer) => demux.write(b));
      stream.on('end', resolve);
    });
    await container.start();
    await container.wait();
    await done;
    return out;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** The interpreter versions inside an image, as build arguments for its labels. */
async function versionsIn(docker: Docker, image: string, probes: readonly string[]): Promise<Record<string, string>> {
  const script = ['R --version 2>/dev/null | head -1 || true', 'python3 --version 2>/dev/null || true', 'quarto --version 2>/dev/null || true'].join(
    '; echo ---; ',
  );
  const [r = '', py = '', quarto = ''] = (await probe(docker, image, script)).split('---');
  const args: Record<string, string> = {};
  const rv = /R version (\d+\.\d+\.\d+)/.exec(r)?.[1];
  const pv = /Python (\d+\.\d+\.\d+)/.exec(py)?.[1];
  if (probes.includes('r')) {
    if (!rv) throw new Error(`${image} has no working R`);
    args.R_VERSION = rv;
  }
  if (probes.includes('python')) {
    if (!pv) throw new Error(`${image} has no working Python`);
    args.PYTHON_VERSION = pv;
  }
  const qv = /(\d+\.\d+\.\d+)/.exec(quarto)?.[1];
  if (qv && probes.length) args.QUARTO_VERSION = qv;
  return args;
}

async function build(docker: Docker, name: string, image: string, buildargs: Record<string, string>, log: (l: string) => void): Promise<void> {
  const stream = await docker.buildImage({ context: path.join(IMAGES_DIR, name), src: ['Dockerfile'] }, { t: image, buildargs, rm: true, forcerm: true });
  await follow(stream, log);
}

/**
 * Builds Lectern's runtime images that are missing (all of them with `force`): the base (from
 * the debootstrap import unless an administrator names another base), then R, Python, and
 * both, each labelled with the versions inside.
 */
export async function buildRuntimeImages(docker: Docker, o: BuildImagesOptions): Promise<string[]> {
  const built: string[] = [];
  if (!o.base && !(await exists(docker, MINBASE_IMAGE))) await importMinbase(docker, o);
  // A new base means new images FROM it.
  let force = !!o.force;
  for (const spec of RUNTIME_IMAGES) {
    if (!force && (await current(docker, spec.image))) {
      o.log(`${spec.image} is there`);
      continue;
    }
    const from = spec.name === 'base' ? (o.base ?? MINBASE_IMAGE) : RUNTIME_IMAGES[0].image;
    o.log(`building ${spec.image} FROM ${from}`);
    await build(docker, spec.name, spec.image, { BASE: from }, o.log);
    // The versions are read from the image, then written into its labels by a second pass
    // that changes only the last layer: later builds still hit the cache.
    const versions = await versionsIn(docker, spec.image, spec.probes);
    if (Object.keys(versions).length) await build(docker, spec.name, spec.image, { BASE: from, ...versions }, () => undefined);
    const labels = (await docker.getImage(spec.image).inspect()).Config.Labels ?? {};
    o.log(
      `${spec.image}: ${Object.entries(labels)
        .filter(([k]) => k.startsWith('org.lectern.'))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    built.push(spec.image);
    if (spec.name === 'base') force = true;
  }
  return built;
}
