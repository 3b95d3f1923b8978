import type { Knex } from 'knex';
import { toBool } from '../db/values.ts';

/** Who asked for a variant's email (true) or opted out of it (false). */
export class SubscriberRepo {
  constructor(private readonly knex: Knex) {}

  async set(variantId: number, userId: number, subscribed: boolean): Promise<void> {
    await this.knex('variant_subscribers')
      .insert({ variant_id: variantId, user_id: userId, subscribed, updated_time: new Date() })
      .onConflict(['variant_id', 'user_id'])
      .merge(['subscribed', 'updated_time']);
  }

  /** user id → subscribed, for everyone with a choice recorded on the variant. */
  async choices(variantId: number): Promise<Map<number, boolean>> {
    const rows = (await this.knex('variant_subscribers').where({ variant_id: variantId }).select('user_id', 'subscribed')) as {
      user_id: number;
      subscribed: unknown;
    }[];
    return new Map(rows.map((r) => [Number(r.user_id), toBool(r.subscribed)]));
  }
}
