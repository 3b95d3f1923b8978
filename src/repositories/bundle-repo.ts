import type { Knex } from 'knex';
import { toBool, toDate, toJson } from '../db/values.ts';
import type { Bundle } from '../domain/content.ts';

type Row = Record<string, unknown>;

function toBundle(r: Row): Bundle {
  return {
    id: Number(r.id),
    contentId: Number(r.content_id),
    uploadedBy: r.uploaded_by === null ? null : Number(r.uploaded_by),
    size: Number(r.size),
    appMode: String(r.app_mode),
    primaryFile: (r.primary_file as string | null) ?? null,
    rVersion: (r.r_version as string | null) ?? null,
    pyVersion: (r.py_version as string | null) ?? null,
    quartoVersion: (r.quarto_version as string | null) ?? null,
    archiveMd5: (r.archive_md5 as string | null) ?? null,
    metadata: toJson<Record<string, unknown>>(r.metadata, {}),
    built: toBool(r.built),
    createdTime: toDate(r.created_time),
  };
}

export interface NewBundle {
  contentId: number;
  uploadedBy: number | null;
  size: number;
  manifest: string;
  metadata: Record<string, unknown>;
  appMode: string;
  primaryFile: string | null;
  rVersion: string | null;
  pyVersion: string | null;
  quartoVersion: string | null;
  archiveMd5: string;
}

export class BundleRepo {
  constructor(private readonly knex: Knex) {}

  async create(b: NewBundle): Promise<Bundle> {
    const [row] = (await this.knex('bundles')
      .insert({
        content_id: b.contentId,
        uploaded_by: b.uploadedBy,
        size: b.size,
        manifest: b.manifest,
        metadata: JSON.stringify(b.metadata),
        app_mode: b.appMode,
        primary_file: b.primaryFile,
        r_version: b.rVersion,
        py_version: b.pyVersion,
        quarto_version: b.quartoVersion,
        archive_md5: b.archiveMd5,
        created_time: new Date(),
      })
      .returning('*')) as Row[];
    return toBundle(row!);
  }

  async byId(contentId: number, id: number): Promise<Bundle | undefined> {
    const row = (await this.knex('bundles').where({ content_id: contentId, id }).first()) as Row | undefined;
    return row && toBundle(row);
  }

  async manifestText(id: number): Promise<string | null> {
    const row = (await this.knex('bundles').select('manifest').where({ id }).first()) as { manifest: string | null } | undefined;
    return row?.manifest ?? null;
  }

  async listForContent(contentId: number): Promise<Bundle[]> {
    const rows = (await this.knex('bundles').where({ content_id: contentId }).orderBy('id')) as Row[];
    return rows.map(toBundle);
  }

  async markBuilt(id: number): Promise<void> {
    await this.knex('bundles').where({ id }).update({ built: true });
  }

  async delete(id: number): Promise<void> {
    await this.knex('bundles').where({ id }).delete();
  }

  /** Items with more than `keep` bundles: where the daily prune may find some to remove. */
  async contentWithMoreThan(keep: number): Promise<number[]> {
    const rows = (await this.knex('bundles').select('content_id').groupBy('content_id').havingRaw('count(*) > ?', [keep])) as Array<{
      content_id: number | string;
    }>;
    return rows.map((r) => Number(r.content_id));
  }

  /** An item's bundles that something still uses: a rendering (its output, or one queued or running), or an unfinished task. */
  async inUse(contentId: number): Promise<Set<number>> {
    const rendered = (await this.knex('renderings').distinct('bundle_id').where({ content_id: contentId })) as Array<{ bundle_id: number | string }>;
    const deploying = (await this.knex('tasks').distinct('bundle_id').where({ content_id: contentId, finished: false }).whereNotNull('bundle_id')) as Array<{
      bundle_id: number | string;
    }>;
    return new Set([...rendered, ...deploying].map((r) => Number(r.bundle_id)));
  }

  /**
   * Deletes a bundle only if, at that moment, no item has it active, no task is using it and
   * no rendering names it: one statement, so a deploy or render another server starts in the
   * meantime keeps it. False: it was in use (or gone already), and nothing was deleted.
   */
  async deleteUnused(id: number): Promise<boolean> {
    const n = await this.knex('bundles')
      .where({ id })
      .whereNotExists((q) => void q.select(this.knex.raw('1')).from('content').where('bundle_id', id))
      .whereNotExists((q) => void q.select(this.knex.raw('1')).from('tasks').where({ bundle_id: id, finished: false }))
      .whereNotExists((q) => void q.select(this.knex.raw('1')).from('renderings').where('bundle_id', id))
      .delete();
    return n > 0;
  }
}
