import type { Knex } from 'knex';

/** `identities`: which Lectern user a provider's (provider, subject) is. */
export class IdentityRepo {
  constructor(private readonly knex: Knex) {}

  async userIdOf(provider: string, subject: string): Promise<number | undefined> {
    const row = (await this.knex('identities').where({ provider, subject }).first('user_id')) as { user_id: number } | undefined;
    return row ? Number(row.user_id) : undefined;
  }

  /** False when (provider, subject) is already linked (a concurrent first login made it). */
  async link(userId: number, provider: string, subject: string): Promise<boolean> {
    const rows = (await this.knex('identities')
      .insert({ user_id: userId, provider, subject, created_time: new Date() })
      .onConflict(['provider', 'subject'])
      .ignore()
      .returning('id')) as unknown[];
    return rows.length > 0;
  }

  /** Whether the user is linked to any provider already. */
  async hasAny(userId: number): Promise<boolean> {
    return (await this.knex('identities').where({ user_id: userId }).first('id')) !== undefined;
  }

  async touch(provider: string, subject: string, at: Date): Promise<void> {
    await this.knex('identities').where({ provider, subject }).update({ login_time: at });
  }

  /** Every user linked to a provider, with their subject there (the LDAP group sync). */
  async linkedTo(provider: string): Promise<Array<{ userId: number; subject: string }>> {
    const rows = (await this.knex('identities').where({ provider }).orderBy('id').select('user_id', 'subject')) as Array<{ user_id: number; subject: string }>;
    return rows.map((r) => ({ userId: Number(r.user_id), subject: r.subject }));
  }
}
