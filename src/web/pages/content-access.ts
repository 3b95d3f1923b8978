import type { Request } from 'express';
import { ACCESS_TYPES, type AccessType } from '../../domain/content.ts';
import { AppError } from '../../domain/errors.ts';
import { actorOf } from '../../http/actor.ts';
import type { SettingsAction, SettingsSection } from './content-section.ts';
import { formText, type PageDeps } from './page.ts';

const text = (v: unknown, max: number) => formText(v, max).trim();

/**
 * The Access tab's forms on the content page: who may see the item (everyone, everyone logged
 * in, or the ones listed), its viewers and collaborators by user or group name, and its vanity
 * path. Each is checked by the same services as the API (the managers only; audited there).
 */
function accessActions(d: PageDeps): Record<string, SettingsAction> {
  const manageable = (req: Request) => d.content.manageable(req.user!, String(req.params.guid));
  return {
    'access-type': async (req) => {
      const wanted = (req.body as Record<string, unknown>).access_type;
      if (!(ACCESS_TYPES as readonly unknown[]).includes(wanted)) throw AppError.badRequest('Choose who may see it.');
      await d.content.update(actorOf(req, 'web'), req.user!, await manageable(req), { accessType: wanted as AccessType });
    },
    permissions: async (req) => {
      const body = req.body as Record<string, unknown>;
      const c = await manageable(req);
      const name = text(body.name, 128);
      if (!name) throw AppError.badRequest('Give the name of a user or a group.');
      const role = body.role === 'owner' ? 'owner' : 'viewer';
      await d.permissions.grant(actorOf(req, 'web'), req.user!, c, { ...(await d.permissions.principalNamed(name)), role });
    },
    'permissions-delete': async (req) => {
      await d.permissions.revoke(actorOf(req, 'web'), req.user!, await manageable(req), String((req.body as Record<string, unknown>).id ?? ''));
    },
    // Locked: viewers get the message instead of the content, and nothing deploys to it
    // (ContentLifecycle checks, audits and stops its processes, as for the API's PATCH).
    lock: async (req) => {
      const body = req.body as Record<string, unknown>;
      const c = await manageable(req);
      const locked = body.locked === 'true';
      const changes = await d.lifecycle.plan(req.user!, c, { locked, lockedMessage: locked ? formText(body.message, 16_385) : undefined });
      const updated = await d.content.update(actorOf(req, 'web'), req.user!, c, changes);
      await d.lifecycle.settle(actorOf(req, 'web'), c, updated);
    },
    vanity: async (req) => {
      const c = await manageable(req);
      const wanted = text((req.body as Record<string, unknown>).path, 1024);
      if (wanted) await d.vanities.set(actorOf(req, 'web'), req.user!, c, wanted);
      else await d.vanities.remove(actorOf(req, 'web'), c);
    },
  };
}

export const accessSection: SettingsSection = {
  tab: 'access',
  label: 'Access',
  load: async (d, req, c) => ({ access: { grants: await d.permissions.listNamed(req.user!, c), vanity: (await d.vanities.forContent(c))?.path ?? null } }),
  actions: accessActions,
};
