import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { toBool, toDate, toDateOrNull } from '../db/values.ts';
import { CONTENT_SETTING_KEYS, type AccessType, type Content, type ContentSettings } from '../domain/content.ts';
import { containsPattern, visibleTo } from './content-visibility.ts';

type Row = Record<string, unknown>;

const BOOL_SETTINGS = new Set(['run_as_current_user', 'default_r_environment_management', 'default_py_environment_management']);

export function toContent(r: Row): Content {
  const settings = {} as Record<string, unknown>;
  for (const k of CONTENT_SETTING_KEYS) {
    const v = r[k];
    settings[k] =
      v === null || v === undefined
        ? k === 'run_as_current_user'
          ? false
          : null
        : BOOL_SETTINGS.has(k)
          ? toBool(v)
          : typeof v === 'string' && k !== 'default_image_name' && k !== 'run_as'
            ? Number(v)
            : v;
  }
  return {
    ...(settings as unknown as ContentSettings),
    id: Number(r.id),
    guid: String(r.guid),
    name: String(r.name),
    title: (r.title as string | null) ?? null,
    description: String(r.description ?? ''),
    ownerId: Number(r.owner_id),
    appMode: String(r.app_mode),
    contentCategory: String(r.content_category ?? ''),
    accessType: r.access_type as AccessType,
    parameterized: toBool(r.parameterized),
    bundleId: r.bundle_id === null || r.bundle_id === undefined ? null : Number(r.bundle_id),
    createdTime: toDate(r.created_time),
    updatedTime: toDate(r.updated_time),
    lastDeployedTime: toDateOrNull(r.last_deployed_time),
    locked: toBool(r.locked ?? false),
    lockedMessage: String(r.locked_message ?? ''),
  };
}

export interface NewContent {
  name: string;
  title: string | null;
  description: string;
  ownerId: number;
  accessType: AccessType;
  settings: Partial<ContentSettings>;
}

export interface ContentChanges extends Partial<ContentSettings> {
  name?: string;
  title?: string | null;
  description?: string;
  accessType?: AccessType;
  appMode?: string;
  contentCategory?: string;
  parameterized?: boolean;
  bundleId?: number | null;
  lastDeployedTime?: Date;
  ownerId?: number;
  locked?: boolean;
  lockedMessage?: string;
}

export interface ContentQuery {
  name?: string;
  ownerId?: number;
  /** Case-insensitive substring of name or title. */
  search?: string;
  /**
   * Only content this user may see in listings (owned, `all`/`logged_in`, or granted to them or
   * a group of theirs); undefined = everything (administrators).
   */
  visibleTo?: number;
  /** Only content carrying this tag (content_tags). */
  taggedWith?: number;
  offset: number;
  limit: number;
}

export class ContentRepo {
  constructor(private readonly knex: Knex) {}

  async create(c: NewContent): Promise<Content> {
    const now = new Date();
    const [row] = (await this.knex('content')
      .insert({
        guid: randomUUID(),
        name: c.name,
        title: c.title,
        description: c.description,
        owner_id: c.ownerId,
        access_type: c.accessType,
        created_time: now,
        updated_time: now,
        ...c.settings,
      })
      .returning('*')) as Row[];
    return toContent(row!);
  }

  async byGuid(guid: string): Promise<Content | undefined> {
    const row = (await this.knex('content').where({ guid }).first()) as Row | undefined;
    return row && toContent(row);
  }

  async byId(id: number): Promise<Content | undefined> {
    const row = (await this.knex('content').where({ id }).first()) as Row | undefined;
    return row && toContent(row);
  }

  /** Deployed content that keeps processes running: min_processes above 0 (or unset, when the server's default is). */
  async keptWarm(defaultMinProcesses: number): Promise<Content[]> {
    // A locked item runs nothing: its processes are not kept warm.
    const rows = (await this.knex('content')
      .whereNotNull('bundle_id')
      .andWhere('locked', false)
      .andWhere((w) => {
        w.where('min_processes', '>', 0);
        if (defaultMinProcesses > 0) w.orWhereNull('min_processes');
      })
      .orderBy('id')) as Row[];
    return rows.map(toContent);
  }

  async list(q: ContentQuery): Promise<{ items: Content[]; total: number }> {
    const base = this.knex('content').modify((b) => {
      if (q.name !== undefined) b.where('name', q.name);
      if (q.ownerId !== undefined) b.where('owner_id', q.ownerId);
      if (q.search) {
        const p = containsPattern(q.search);
        b.where((w) => w.whereRaw(`lower(name) like ? escape '\\'`, [p]).orWhereRaw(`lower(coalesce(title, '')) like ? escape '\\'`, [p]));
      }
      if (q.taggedWith !== undefined) {
        const tagId = q.taggedWith;
        b.whereExists((t) => t.select(this.knex.raw('1')).from('content_tags as ct').whereRaw('ct.content_id = content.id').andWhere('ct.tag_id', tagId));
      }
      if (q.visibleTo !== undefined) visibleTo(this.knex, b, q.visibleTo);
    });
    const total = (await base.clone().count({ n: '*' }).first()) as { n: number | string } | undefined;
    const rows = (await base.clone().orderBy('id').offset(q.offset).limit(q.limit)) as Row[];
    return { items: rows.map(toContent), total: Number(total?.n ?? 0) };
  }

  async update(id: number, c: ContentChanges): Promise<Content | undefined> {
    const patch: Row = { updated_time: new Date() };
    const columns: Record<string, string> = {
      name: 'name',
      title: 'title',
      description: 'description',
      accessType: 'access_type',
      appMode: 'app_mode',
      contentCategory: 'content_category',
      parameterized: 'parameterized',
      bundleId: 'bundle_id',
      lastDeployedTime: 'last_deployed_time',
      ownerId: 'owner_id',
      locked: 'locked',
      lockedMessage: 'locked_message',
    };
    for (const [key, value] of Object.entries(c)) {
      if (value === undefined) continue;
      const column = Object.hasOwn(columns, key) ? columns[key] : (CONTENT_SETTING_KEYS as readonly string[]).includes(key) ? key : undefined;
      if (column === undefined) throw new Error(`not a content column: ${key}`);
      patch[column] = value;
    }
    await this.knex('content').where({ id }).update(patch);
    return this.byId(id);
  }

  async delete(id: number): Promise<void> {
    await this.knex('content').where({ id }).delete();
  }
}
