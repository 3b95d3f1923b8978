import type Docker from 'dockerode';
import type { RuntimeImage } from '../../src/domain/runtime-images.ts';
import type { Manifest } from '../../src/domain/manifest.ts';
import { LABEL } from './labels.ts';
import { LABELS, RUNTIME_IMAGES } from './runtime-images.ts';

function withTag(name: string): string {
  return /:[^/]+$/.test(name) ? name : `${name}:latest`;
}

/**
 * The engine's runtime images: those labelled `org.lectern.runtime` with at least one
 * interpreter (the bare base image runs nothing). An administrator's own image joins the list
 * by carrying the same labels.
 */
export async function listRuntimeImages(docker: Docker): Promise<RuntimeImage[]> {
  const images = await docker.listImages({ filters: { label: [LABELS.runtime] } });
  const out: RuntimeImage[] = [];
  for (const img of images) {
    const labels = img.Labels ?? {};
    // A bundle's image inherits its runtime image's labels; it is not an environment itself.
    if (labels[LABEL.content]) continue;
    const r = labels[LABELS.r] || null;
    const python = labels[LABELS.python] || null;
    if (!r && !python) continue;
    for (const name of img.RepoTags ?? []) {
      if (name === '<none>:<none>') continue;
      out.push({ name, id: img.Id, created: new Date(img.Created * 1000).toISOString(), r, python, quarto: labels[LABELS.quarto] || null });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Python content that also lists R packages (reticulate), or R content with a Python section, needs both. */
function needs(language: 'r' | 'python', manifest: Manifest): { r: boolean; python: boolean } {
  const hasR = Object.keys(manifest.packages ?? {}).length > 0;
  return { r: language === 'r' || hasR, python: language === 'python' || !!manifest.python };
}

/**
 * The image a bundle runs in: the one it pins (content setting, else manifest
 * `environment.image`), else Lectern's image for its languages, else any that has them.
 */
export async function chooseRuntimeImage(docker: Docker, language: 'r' | 'python', manifest: Manifest, pinned: string | null): Promise<RuntimeImage> {
  const all = await listRuntimeImages(docker);
  const names = all.map((e) => e.name).join(', ') || 'none';
  if (pinned) {
    const found = all.find((e) => e.name === withTag(pinned));
    if (!found) throw new Error(`The content asks for the image "${pinned}", which is not one of this server's execution environments (${names}).`);
    if (!(language === 'r' ? found.r : found.python))
      throw new Error(`The image "${pinned}" has no ${language === 'r' ? 'R' : 'Python'}, which this content needs.`);
    return found;
  }
  const want = needs(language, manifest);
  const fits = all.filter((e) => (!want.r || e.r) && (!want.python || e.python));
  const preferred = RUNTIME_IMAGES.map((i) => i.image as string);
  fits.sort((a, b) => rank(preferred, a.name) - rank(preferred, b.name));
  const best = fits[0];
  if (!best) {
    const what = want.r && want.python ? 'R and Python' : want.r ? 'R' : 'Python';
    throw new Error(`No runtime image with ${what} is available (images: ${names}). Build Lectern's with \`lectern runtimes build\`.`);
  }
  return best;
}

function rank(preferred: string[], name: string): number {
  const i = preferred.indexOf(name);
  return i < 0 ? preferred.length : i;
}
