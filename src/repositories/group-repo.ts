import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { toDate } from '../db/values.ts';
import type { Group } from '../domain/content.ts';

type Row = Record<string, unknown>;

function toGroup(r: Row): Group {
  return {
    id: Number(r.id),
    guid: String(r.guid),
    name: String(r.name),
    ownerId: r.owner_id === null || r.owner_id === undefined ? null : Number(r.owner_id),
    ownerGuid: (r.owner_guid as string | null | undefined) ?? null,
    source: (r.source as string | null | undefined) ?? null,
    createdTime: toDate(r.created_time),
    updatedTime: toDate(r.updated_time),
  };
}

export interface GroupQuery {
  /** Case-insensitive prefix of the name. */
  prefix?: string | undefined;
  offset: number;
  limit: number;
}

/** `groups` and `group_members`. */
export class GroupRepo {
  constructor(private readonly knex: Knex) {}

  private select() {
    return this.knex('groups as g').leftJoin('users as u', 'u.id', 'g.owner_id').select('g.*', 'u.guid as owner_guid');
  }

  /**
   * Creates a group unless a group's name has the same `key` (the caller's rule: names that
   * differ only by case), and then answers with that name. The check is made in JavaScript so
   * it is one rule on both databases (SQLite's lower() folds ASCII only), against every name:
   * creating a group is rare and groups are few. One creation at a time: on PostgreSQL the
   * table is locked against other writers for the check and insert (every Lectern node uses
   * the same lock); SQLite has one connection, which the transaction holds.
   */
  async createUnlessTaken(name: string, ownerId: number, key: (name: string) => string): Promise<{ group: Group } | { taken: string }> {
    const guid = await this.knex.transaction(async (trx) => {
      if (trx.client.dialect === 'postgresql') await trx.raw('lock table groups in share row exclusive mode');
      const wanted = key(name);
      const names = (await trx('groups').pluck('name')) as string[];
      const taken = names.find((n) => key(n) === wanted);
      if (taken !== undefined) return { taken };
      const now = new Date();
      const guid = randomUUID();
      await trx('groups').insert({ guid, name, owner_id: ownerId, created_time: now, updated_time: now });
      return guid;
    });
    return typeof guid === 'string' ? { group: (await this.byGuid(guid))! } : guid;
  }

  /**
   * The remote group of this name (the same `key`), created for `source` when there is none;
   * `{ local }` when a group made in Lectern has the name (a sync never takes one over).
   * One creation at a time, as `createUnlessTaken`.
   */
  /**
   * The remote group `name` of `source`, made now if need be; `taken` when the name is a local
   * group's or another provider's (never joined: one provider must not reach into groups
   * another vouches for, nor into local ones).
   */
  async ensureRemote(name: string, source: string, key: (name: string) => string): Promise<{ group: Group; created: boolean } | { taken: Group }> {
    const found = await this.knex.transaction(async (trx) => {
      if (trx.client.dialect === 'postgresql') await trx.raw('lock table groups in share row exclusive mode');
      const wanted = key(name);
      const rows = (await trx('groups').select('guid', 'name')) as Array<{ guid: string; name: string }>;
      const same = rows.find((r) => key(r.name) === wanted);
      if (same) return { guid: same.guid, created: false };
      const now = new Date();
      const guid = randomUUID();
      await trx('groups').insert({ guid, name, owner_id: null, source, created_time: now, updated_time: now });
      return { guid, created: true };
    });
    const group = (await this.byGuid(found.guid))!;
    return group.source !== source ? { taken: group } : { group, created: found.created };
  }

  /** The remote groups a user was put in by `source`'s sync. */
  async syncedGroupsOf(userId: number, source: string): Promise<Group[]> {
    const rows = (await this.select()
      .join('group_members as m', 'm.group_id', 'g.id')
      .where('m.user_id', userId)
      .where('m.source', source)
      .whereNotNull('g.source')) as Row[];
    return rows.map(toGroup);
  }

  async byGuid(guid: string): Promise<Group | undefined> {
    const row = (await this.select().where('g.guid', guid).first()) as Row | undefined;
    return row && toGroup(row);
  }

  /** A group by its name, case-insensitively (the settings page takes names). */
  async byName(name: string): Promise<Group | undefined> {
    const row = (await this.select().whereRaw('lower(g.name) = ?', [name.toLowerCase()]).first()) as Row | undefined;
    return row && toGroup(row);
  }

  async byId(id: number): Promise<Group | undefined> {
    const row = (await this.select().where('g.id', id).first()) as Row | undefined;
    return row && toGroup(row);
  }

  async list(q: GroupQuery): Promise<{ groups: Group[]; total: number }> {
    const base = this.knex('groups as g').modify((b) => {
      if (q.prefix) {
        const p = q.prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
        b.whereRaw(`lower(g.name) like ? escape '\\'`, [p]);
      }
    });
    const total = (await base.clone().count({ n: '*' }).first()) as { n: number | string } | undefined;
    const rows = (await base
      .clone()
      .leftJoin('users as u', 'u.id', 'g.owner_id')
      .select('g.*', 'u.guid as owner_guid')
      // Alphabetical ignoring case, the same on both databases whatever their collation.
      .orderByRaw('lower(g.name), g.id')
      .offset(q.offset)
      .limit(q.limit)) as Row[];
    return { groups: rows.map(toGroup), total: Number(total?.n ?? 0) };
  }

  async delete(id: number): Promise<void> {
    await this.knex('groups').where({ id }).delete();
  }

  /** The members' user ids, oldest account first. */
  /** The names of the groups a user belongs to, for the credentials content receives. */
  async namesForUser(userId: number): Promise<string[]> {
    const rows = (await this.knex('groups')
      .join('group_members', 'groups.id', 'group_members.group_id')
      .where('group_members.user_id', userId)
      .orderBy('groups.name')
      .select('groups.name')) as Array<{ name: string }>;
    return rows.map((r) => r.name);
  }

  async memberIds(groupId: number): Promise<number[]> {
    const rows = (await this.knex('group_members').select('user_id').where({ group_id: groupId }).orderBy('user_id')) as Row[];
    return rows.map((r) => Number(r.user_id));
  }

  async isMember(groupId: number, userId: number): Promise<boolean> {
    return !!(await this.knex('group_members').where({ group_id: groupId, user_id: userId }).first());
  }

  /** False when the user already belonged to the group. `source`: the provider whose sync adds them. */
  async addMember(groupId: number, userId: number, source: string | null = null): Promise<boolean> {
    const rows = (await this.knex('group_members')
      .insert({ group_id: groupId, user_id: userId, source })
      .onConflict(['group_id', 'user_id'])
      .ignore()
      .returning('user_id')) as unknown[];
    return rows.length > 0;
  }

  /** False when the user was not a member. */
  async removeMember(groupId: number, userId: number): Promise<boolean> {
    return (await this.knex('group_members').where({ group_id: groupId, user_id: userId }).delete()) > 0;
  }
}
