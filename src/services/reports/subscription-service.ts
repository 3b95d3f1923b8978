import { AppError } from '../../domain/errors.ts';
import type { Actor, User } from '../../domain/user.ts';
import type { SubscriberRepo } from '../../repositories/subscriber-repo.ts';
import type { UserRepo } from '../../repositories/user-repo.ts';
import type { AccessPolicy } from '../access-policy.ts';
import type { AuditLog } from '../audit-log.ts';
import type { VariantService } from './variant-service.ts';

/**
 * Who gets a variant's scheduled email besides its collaborators and viewers (subscribers), and
 * who opted out. Anyone who may see the report subscribes and unsubscribes themselves; the
 * people who manage it may add or remove others, but only people who may see it.
 */
export class SubscriptionService {
  constructor(
    private readonly subscribers: SubscriberRepo,
    private readonly users: UserRepo,
    private readonly variants: VariantService,
    private readonly access: AccessPolicy,
    private readonly audit: AuditLog,
  ) {}

  /** The subscribed users: all of them for whoever manages the variant, else only the caller. */
  async list(user: User, variantId: unknown): Promise<User[]> {
    const of = await this.variants.visible(user, variantId);
    const manages = await this.variants.mayChange(user, of);
    const out: User[] = [];
    for (const [id, subscribed] of await this.subscribers.choices(of.variant.id)) {
      if (!subscribed || (!manages && id !== user.id)) continue;
      const u = await this.users.byId(id);
      if (u) out.push(u);
    }
    return out;
  }

  async subscribe(actor: Actor, user: User, variantId: unknown, guids: string[]): Promise<void> {
    const of = await this.variants.visible(user, variantId);
    for (const guid of guids) {
      const target = guid === user.guid ? user : await this.users.byGuid(guid);
      if (!target) throw AppError.badRequest(`No user has the guid "${guid}".`);
      if (target.id !== user.id && !(await this.variants.mayChange(user, of)))
        throw AppError.forbidden('Only the people who manage this report can subscribe others.');
      // A private variant is its owner's and the managers': nobody else may be put on its mail.
      if (!(await this.access.canView(target, of.content)) || !(await this.variants.seenBy(target, of)))
        throw AppError.badRequest(`${target.username} cannot see this report, so cannot subscribe to it.`);
      await this.subscribers.set(of.variant.id, target.id, true);
      await this.audit.record(actor, 'variant.subscribe', { type: 'variant', id: String(of.variant.id) }, { user: target.guid });
    }
  }

  /** Unsubscribing also opts out of the mail a collaborator or viewer would get. */
  async unsubscribe(actor: Actor, user: User, variantId: unknown, guid: string): Promise<void> {
    const of = await this.variants.visible(user, variantId);
    const target = guid === user.guid ? user : await this.users.byGuid(guid);
    if (!target) throw AppError.notFound(`No user has the guid "${guid}".`);
    if (target.id !== user.id && !(await this.variants.mayChange(user, of)))
      throw AppError.forbidden('Only the people who manage this report can unsubscribe others.');
    await this.subscribers.set(of.variant.id, target.id, false);
    await this.audit.record(actor, 'variant.unsubscribe', { type: 'variant', id: String(of.variant.id) }, { user: target.guid });
  }

  /** user id → subscribed, for everyone who made a choice (the mailer's input). */
  choices(variantId: number): Promise<Map<number, boolean>> {
    return this.subscribers.choices(variantId);
  }
}
