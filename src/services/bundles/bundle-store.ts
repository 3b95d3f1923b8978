import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Bundle, Content } from '../../domain/content.ts';
import type { BundleValidator } from '../../domain/deploy.ts';
import { AppError } from '../../domain/errors.ts';
import { parseManifest, type Manifest } from '../../domain/manifest.ts';
import type { BundleRepo } from '../../repositories/bundle-repo.ts';
import type { Freed } from '../../domain/retention.ts';
import { treeSize } from '../tree-size.ts';
import { extractBundle, type ExtractLimits } from './extract-bundle.ts';

const MANIFEST_CACHE = 500;
// An ingest extracts into `<dataDir>/bundles/<guid>/staging-<random>` before the rename.
const STAGING = 'staging-';

async function md5Of(file: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Bundles on disk: `<dataDir>/bundles/<content guid>/<id>.tar.gz` (the upload, kept for
 * download and rebuilds) and `<id>/` (its files). Uploads land in `<dataDir>/tmp` first, on
 * the same file system, so moving them into place is a rename.
 */
export class BundleStore {
  readonly tmpDir: string;
  private readonly root: string;
  private readonly manifests = new Map<number, Manifest>();
  // Archives and staging directories an ingest here is working on: never leftovers, however old.
  private readonly ingesting = new Set<string>();

  constructor(
    dataDir: string,
    private readonly limits: ExtractLimits,
    private readonly validator: BundleValidator,
    private readonly bundles: BundleRepo,
  ) {
    this.root = path.join(dataDir, 'bundles');
    this.tmpDir = path.join(dataDir, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    // Whatever an earlier process left half-received is garbage now.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  get maxBytes(): number {
    return this.limits.maxBytes;
  }

  contentDir(guid: string): string {
    return path.join(this.root, guid);
  }

  archivePath(guid: string, bundleId: number): string {
    return path.join(this.contentDir(guid), `${bundleId}.tar.gz`);
  }

  bundleDir(guid: string, bundleId: number): string {
    return path.join(this.contentDir(guid), String(bundleId));
  }

  /**
   * Extracts and checks a received archive, then records it and moves it into place. The
   * archive file is consumed (moved or deleted) whatever happens.
   */
  async ingest(content: Content, archive: string, size: number, uploadedBy: number, metadata: Record<string, unknown>): Promise<Bundle> {
    const dir = this.contentDir(content.guid);
    const staging = path.join(dir, `${STAGING}${randomBytes(8).toString('hex')}`);
    this.ingesting.add(archive).add(staging);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const extracted = await extractBundle(archive, staging, this.limits);
      if (extracted.checksumMismatches.length) {
        const list = extracted.checksumMismatches.map((m) => `${m.path} (manifest ${m.expected}, file ${m.actual})`).join(', ');
        throw AppError.badRequest(`The bundle's files do not match manifest.json checksums: ${list}. Re-create the bundle.`, 25, {
          mismatches: extracted.checksumMismatches,
        });
      }
      const { appMode, primaryFile } = this.validator.validate(extracted.manifest, extracted.files);
      const m = extracted.manifest;
      const archiveMd5 = await md5Of(archive);
      const bundle = await this.bundles.create({
        contentId: content.id,
        uploadedBy,
        size,
        manifest: JSON.stringify(m),
        metadata: { ...metadata, archive_md5: archiveMd5 },
        appMode,
        primaryFile,
        // The R client writes its R version as `platform`.
        rVersion: m.platform ?? null,
        pyVersion: m.python?.version ?? null,
        quartoVersion: m.quarto?.version ?? null,
        archiveMd5,
      });
      try {
        await rename(staging, this.bundleDir(content.guid, bundle.id));
        await rename(archive, this.archivePath(content.guid, bundle.id));
      } catch (err) {
        await this.bundles.delete(bundle.id);
        await rm(this.bundleDir(content.guid, bundle.id), { recursive: true, force: true });
        throw err;
      }
      return bundle;
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(archive, { force: true });
      this.ingesting.delete(archive);
      this.ingesting.delete(staging);
    }
  }

  /** A bundle's manifest. Bundles never change, so the proxy's lookups come from memory. */
  async manifest(bundle: Bundle): Promise<Manifest> {
    const cached = this.manifests.get(bundle.id);
    if (cached) return cached;
    const text = await this.bundles.manifestText(bundle.id);
    if (!text) throw AppError.notFound('The bundle has no manifest.');
    const m = parseManifest(text);
    this.manifests.set(bundle.id, m);
    if (this.manifests.size > MANIFEST_CACHE) this.manifests.delete(this.manifests.keys().next().value!);
    return m;
  }

  async remove(content: Content, bundle: Bundle): Promise<void> {
    this.manifests.delete(bundle.id);
    await this.bundles.delete(bundle.id);
    await rm(this.bundleDir(content.guid, bundle.id), { recursive: true, force: true });
    await rm(this.archivePath(content.guid, bundle.id), { force: true });
  }

  /**
   * The daily prune's removal of a bundle: the row only if nothing uses it at that moment
   * (BundleRepo.deleteUnused), then its files. Null: it was in use after all, and stays.
   */
  async removeUnused(content: Content, bundle: Bundle): Promise<Freed | null> {
    const dir = this.bundleDir(content.guid, bundle.id);
    const archive = this.archivePath(content.guid, bundle.id);
    // Measured first: once the row is gone, the files go at once.
    const [files, packed] = await Promise.all([treeSize(dir), treeSize(archive)]);
    if (!(await this.bundles.deleteUnused(bundle.id))) return null;
    this.manifests.delete(bundle.id);
    await rm(dir, { recursive: true, force: true });
    await rm(archive, { force: true });
    return { rows: 1, files: files.files + packed.files, bytes: files.bytes + packed.bytes };
  }

  /**
   * What uploads may have left: everything in `<dataDir>/tmp` and the staging directories of
   * ingests, but those an ingest here is working on. (Whoever is still writing one keeps it
   * fresh; the caller goes by age.) The start-up empties `tmp` already; these are what a
   * long-running server's failures leave, and the staging directories of an ingest a crash cut
   * short, which nothing else removes.
   */
  async leftovers(): Promise<string[]> {
    const list = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).map((n) => path.join(dir, n));
    const staging = [];
    for (const item of await list(this.root)) staging.push(...(await list(item)).filter((p) => path.basename(p).startsWith(STAGING)));
    return [...(await list(this.tmpDir)), ...staging].filter((p) => !this.ingesting.has(p));
  }

  async removeContent(guid: string): Promise<void> {
    await rm(this.contentDir(guid), { recursive: true, force: true });
  }
}
