import type { Knex } from 'knex';
import { toDate } from '../db/values.ts';
import type { Permission, PermissionRole, PrincipalType } from '../domain/content.ts';

type Row = Record<string, unknown>;

function toPermission(r: Row): Permission {
  const isUser = r.user_id !== null && r.user_id !== undefined;
  return {
    id: Number(r.id),
    contentId: Number(r.content_id),
    principalType: isUser ? 'user' : 'group',
    principalId: Number(isUser ? r.user_id : r.group_id),
    principalGuid: String(isUser ? r.user_guid : r.group_guid),
    role: r.role as PermissionRole,
    createdTime: toDate(r.created_time),
  };
}

export interface PermissionGrant {
  principalType: PrincipalType;
  principalId: number;
  role: PermissionRole;
}

/** `content_permissions`: grants of a content item to users and groups. */
export class PermissionRepo {
  constructor(private readonly knex: Knex) {}

  private select() {
    return this.knex('content_permissions as p')
      .leftJoin('users as u', 'u.id', 'p.user_id')
      .leftJoin('groups as g', 'g.id', 'p.group_id')
      .select('p.*', 'u.guid as user_guid', 'g.guid as group_guid');
  }

  async listForContent(contentId: number): Promise<Permission[]> {
    const rows = (await this.select().where('p.content_id', contentId).orderBy('p.id')) as Row[];
    return rows.map(toPermission);
  }

  async byId(contentId: number, id: number): Promise<Permission | undefined> {
    const row = (await this.select().where({ 'p.content_id': contentId, 'p.id': id }).first()) as Row | undefined;
    return row && toPermission(row);
  }

  /** Throws a unique violation when the principal already has a grant on the item. */
  async create(contentId: number, g: PermissionGrant): Promise<Permission> {
    const [row] = (await this.knex('content_permissions')
      .insert({ content_id: contentId, ...principalColumns(g), role: g.role, created_time: new Date() })
      .returning('id')) as Array<{ id: number } | number>;
    const id = typeof row === 'object' ? row.id : row;
    return (await this.byId(contentId, Number(id)))!;
  }

  async update(contentId: number, id: number, g: PermissionGrant): Promise<Permission | undefined> {
    await this.knex('content_permissions')
      .where({ content_id: contentId, id })
      .update({ ...principalColumns(g), role: g.role });
    return this.byId(contentId, id);
  }

  async delete(contentId: number, id: number): Promise<boolean> {
    return (await this.knex('content_permissions').where({ content_id: contentId, id }).delete()) > 0;
  }

  /**
   * What the user is granted on each item, directly or through any group they belong to:
   * the roles found, per content id. One query for a whole listing.
   */
  async grantsFor(userId: number, contentIds: number[]): Promise<Map<number, PermissionRole[]>> {
    const out = new Map<number, PermissionRole[]>();
    // Well under either database's limit on bound parameters per statement.
    for (let i = 0; i < contentIds.length; i += 5000) {
      const chunk = contentIds.slice(i, i + 5000);
      const rows = (await this.knex('content_permissions')
        .select('content_id', 'role')
        .whereIn('content_id', chunk)
        .andWhere((w) => w.where('user_id', userId).orWhereIn('group_id', this.knex('group_members').select('group_id').where('user_id', userId)))) as Row[];
      for (const r of rows) {
        const id = Number(r.content_id);
        out.set(id, [...(out.get(id) ?? []), r.role as PermissionRole]);
      }
    }
    return out;
  }
}

function principalColumns(g: PermissionGrant) {
  return g.principalType === 'user' ? { user_id: g.principalId, group_id: null } : { user_id: null, group_id: g.principalId };
}
