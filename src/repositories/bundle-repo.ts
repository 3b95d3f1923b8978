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
}
