import type { Request } from 'express';
import type { Content } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import type { User } from '../../domain/user.ts';
import { actorOf } from '../../http/actor.ts';
import type { PageDeps } from './page.ts';

/** A rendered report's default variant, and whether the user gets its scheduled email. */
export async function emailOf(d: PageDeps, user: User, c: Content) {
  if (!d.reports.variants.isRendered(c)) return null;
  const variant = (await d.reports.variants.list(user, c.guid)).find((v) => v.variant.isDefault)?.variant;
  if (!variant) return null;
  const subscribed = (await d.reports.subscriptions.list(user, variant.id)).some((u) => u.id === user.id);
  return { variantId: variant.id, subscribed };
}

/**
 * The Email section, for everyone who may see a rendered report (not only its managers):
 * subscribe to its scheduled email, or unsubscribe (which also opts out of the mail a viewer
 * or collaborator would get). The SubscriptionService checks who may.
 */
export function emailActions(d: PageDeps): Record<string, (req: Request) => Promise<void>> {
  const variantOf = async (req: Request) => {
    const c = await d.content.visible(req.user!, String(req.params.guid));
    const found = await emailOf(d, req.user!, c);
    if (!found) throw AppError.badRequest('Only rendered reports send email.');
    return found.variantId;
  };
  return {
    subscribe: async (req) => d.reports.subscriptions.subscribe(actorOf(req, 'web'), req.user!, await variantOf(req), [req.user!.guid]),
    unsubscribe: async (req) => d.reports.subscriptions.unsubscribe(actorOf(req, 'web'), req.user!, await variantOf(req), req.user!.guid),
  };
}
