import type { Knex } from 'knex';
import { toBool, toDate, toJson } from '../db/values.ts';
import type { Variant } from '../domain/reports.ts';

type Row = Record<string, unknown>;

function toVariant(r: Row): Variant {
  return {
    id: Number(r.id),
    contentId: Number(r.content_id),
    key: String(r.key),
    name: String(r.name),
    isDefault: toBool(r.is_default),
    visibility: r.visibility === 'private' ? 'private' : 'public',
    ownerId: r.owner_id === null || r.owner_id === undefined ? null : Number(r.owner_id),
    params: toJson<Record<string, unknown> | null>(r.params_json, null),
    emailCollaborators: toBool(r.email_collaborators),
    emailViewers: toBool(r.email_viewers),
    emailAll: toBool(r.email_all),
    renderingId: r.rendering_id === null || r.rendering_id === undefined ? null : Number(r.rendering_id),
    createdTime: toDate(r.created_time),
  };
}

export interface NewVariant {
  contentId: number;
  key: string;
  name: string;
  isDefault: boolean;
  visibility: 'public' | 'private';
  ownerId: number | null;
  params: Record<string, unknown> | null;
}

export type VariantChanges = Partial<Pick<Variant, 'name' | 'visibility' | 'params' | 'emailCollaborators' | 'emailViewers' | 'emailAll'>>;

export class VariantRepo {
  constructor(private readonly knex: Knex) {}

  async byId(id: number): Promise<Variant | undefined> {
    const row = (await this.knex('variants').where({ id }).first()) as Row | undefined;
    return row && toVariant(row);
  }

  async byKey(contentId: number, key: string): Promise<Variant | undefined> {
    const row = (await this.knex('variants').where({ content_id: contentId, key }).first()) as Row | undefined;
    return row && toVariant(row);
  }

  async forContent(contentId: number): Promise<Variant[]> {
    return ((await this.knex('variants').where({ content_id: contentId }).orderBy('id')) as Row[]).map(toVariant);
  }

  async defaultOf(contentId: number): Promise<Variant | undefined> {
    const row = (await this.knex('variants').where({ content_id: contentId, is_default: true }).orderBy('id').first()) as Row | undefined;
    return row && toVariant(row);
  }

  async create(v: NewVariant): Promise<Variant> {
    const [row] = (await this.knex('variants')
      .insert({
        content_id: v.contentId,
        key: v.key,
        name: v.name,
        is_default: v.isDefault,
        visibility: v.visibility,
        owner_id: v.ownerId,
        params_json: v.params === null ? null : JSON.stringify(v.params),
        created_time: new Date(),
      })
      .returning('*')) as Row[];
    return toVariant(row!);
  }

  async update(id: number, c: VariantChanges): Promise<void> {
    const row: Row = {};
    if (c.name !== undefined) row.name = c.name;
    if (c.visibility !== undefined) row.visibility = c.visibility;
    if (c.params !== undefined) row.params_json = c.params === null ? null : JSON.stringify(c.params);
    if (c.emailCollaborators !== undefined) row.email_collaborators = c.emailCollaborators;
    if (c.emailViewers !== undefined) row.email_viewers = c.emailViewers;
    if (c.emailAll !== undefined) row.email_all = c.emailAll;
    if (Object.keys(row).length) await this.knex('variants').where({ id }).update(row);
  }

  /** Makes a rendering the one viewers get, unless a newer one already is (renders may finish out of order). */
  async activate(id: number, renderingId: number): Promise<void> {
    await this.knex('variants')
      .where({ id })
      .andWhere((w) => w.whereNull('rendering_id').orWhere('rendering_id', '<', renderingId))
      .update({ rendering_id: renderingId });
  }

  async delete(id: number): Promise<void> {
    await this.knex('variants').where({ id }).delete();
  }
}
