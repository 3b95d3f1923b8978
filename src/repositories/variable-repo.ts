import type { Knex } from 'knex';

export interface StoredVariable {
  name: string;
  valueEncrypted: string;
}

export class VariableRepo {
  constructor(private readonly knex: Knex) {}

  async names(contentId: number): Promise<string[]> {
    const rows = (await this.knex('content_environment').select('name').where({ content_id: contentId }).orderBy('name')) as Array<{ name: string }>;
    return rows.map((r) => r.name);
  }

  async all(contentId: number): Promise<StoredVariable[]> {
    const rows = (await this.knex('content_environment').select('name', 'value_encrypted').where({ content_id: contentId }).orderBy('name')) as Array<{
      name: string;
      value_encrypted: string;
    }>;
    return rows.map((r) => ({ name: r.name, valueEncrypted: r.value_encrypted }));
  }

  /** Applies sets and deletes in one transaction; `replace` first removes everything else. */
  async apply(contentId: number, sets: StoredVariable[], deletes: string[], replace: boolean): Promise<void> {
    await this.knex.transaction(async (trx) => {
      if (replace) await trx('content_environment').where({ content_id: contentId }).delete();
      if (deletes.length) await trx('content_environment').where({ content_id: contentId }).whereIn('name', deletes).delete();
      const now = new Date();
      for (const v of sets) {
        await trx('content_environment')
          .insert({ content_id: contentId, name: v.name, value_encrypted: v.valueEncrypted, created_time: now, updated_time: now })
          .onConflict(['content_id', 'name'])
          .merge(['value_encrypted', 'updated_time']);
      }
    });
  }
}
