import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { toBool, toDate, toDateOrNull } from '../db/values.ts';
import type { User, UserRole } from '../domain/user.ts';

interface UserRow {
  id: number;
  guid: string;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  user_role: string;
  password_hash: string | null;
  must_change_password: unknown;
  locked: unknown;
  confirmed: unknown;
  created_time: unknown;
  updated_time: unknown;
  active_time: unknown;
}

export interface NewUser {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  role: UserRole;
  passwordHash: string | null;
  mustChangePassword: boolean;
}

export interface UserChanges {
  email?: string;
  firstName?: string;
  lastName?: string;
  role?: UserRole;
  locked?: boolean;
  passwordHash?: string;
  mustChangePassword?: boolean;
}

export interface UserQuery {
  prefix?: string;
  role?: UserRole;
  locked?: boolean;
  offset: number;
  limit: number;
}

function toUser(r: UserRow): User {
  return {
    id: Number(r.id),
    guid: r.guid,
    username: r.username,
    email: r.email,
    firstName: r.first_name,
    lastName: r.last_name,
    role: r.user_role as UserRole,
    locked: toBool(r.locked),
    confirmed: toBool(r.confirmed),
    mustChangePassword: toBool(r.must_change_password),
    createdTime: toDate(r.created_time),
    updatedTime: toDate(r.updated_time),
    activeTime: toDateOrNull(r.active_time),
  };
}

export class UserRepo {
  constructor(private readonly knex: Knex) {}

  async count(): Promise<number> {
    const row = (await this.knex('users').count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  async create(u: NewUser): Promise<User> {
    const now = new Date();
    const [row] = (await this.knex('users')
      .insert({
        guid: randomUUID(),
        username: u.username,
        username_key: u.username.toLowerCase(),
        email: u.email,
        first_name: u.firstName,
        last_name: u.lastName,
        user_role: u.role,
        password_hash: u.passwordHash,
        must_change_password: u.mustChangePassword,
        locked: false,
        confirmed: true,
        created_time: now,
        updated_time: now,
      })
      .returning('*')) as UserRow[];
    return toUser(row!);
  }

  async byId(id: number): Promise<User | undefined> {
    const row = (await this.knex('users').where({ id }).first()) as UserRow | undefined;
    return row && toUser(row);
  }

  async byGuid(guid: string): Promise<User | undefined> {
    const row = (await this.knex('users').where({ guid }).first()) as UserRow | undefined;
    return row && toUser(row);
  }

  async byUsername(username: string): Promise<User | undefined> {
    const row = (await this.knex('users').where({ username_key: username.toLowerCase() }).first()) as UserRow | undefined;
    return row && toUser(row);
  }

  async passwordHash(id: number): Promise<string | null> {
    const row = (await this.knex('users').select('password_hash').where({ id }).first()) as { password_hash: string | null } | undefined;
    return row?.password_hash ?? null;
  }

  async list(q: UserQuery): Promise<{ users: User[]; total: number }> {
    const base = this.knex('users').modify((b) => {
      if (q.prefix) {
        const p = q.prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
        b.where((w) =>
          w
            .whereRaw(`username_key like ? escape '\\'`, [p])
            .orWhereRaw(`lower(first_name) like ? escape '\\'`, [p])
            .orWhereRaw(`lower(last_name) like ? escape '\\'`, [p])
            .orWhereRaw(`lower(email) like ? escape '\\'`, [p]),
        );
      }
      if (q.role) b.where('user_role', q.role);
      if (q.locked !== undefined) b.where('locked', q.locked);
    });
    const totalRow = (await base.clone().count({ n: '*' }).first()) as { n: number | string } | undefined;
    const rows = (await base.clone().orderBy('id').offset(q.offset).limit(q.limit)) as UserRow[];
    return { users: rows.map(toUser), total: Number(totalRow?.n ?? 0) };
  }

  async update(id: number, c: UserChanges): Promise<User | undefined> {
    const patch: Record<string, unknown> = { updated_time: new Date() };
    if (c.email !== undefined) patch.email = c.email;
    if (c.firstName !== undefined) patch.first_name = c.firstName;
    if (c.lastName !== undefined) patch.last_name = c.lastName;
    if (c.role !== undefined) patch.user_role = c.role;
    if (c.locked !== undefined) patch.locked = c.locked;
    if (c.passwordHash !== undefined) patch.password_hash = c.passwordHash;
    if (c.mustChangePassword !== undefined) patch.must_change_password = c.mustChangePassword;
    await this.knex('users').where({ id }).update(patch);
    return this.byId(id);
  }

  async touchActive(id: number, at: Date): Promise<void> {
    await this.knex('users').where({ id }).update({ active_time: at });
  }
}
